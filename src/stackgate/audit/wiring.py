"""The audit trail's wiring: its router and table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from stackgate.audit.models import AuditEvent
from stackgate.wiring import Feature

if TYPE_CHECKING:
    from fastapi import APIRouter


def routers() -> Sequence[APIRouter]:
    from stackgate.audit.routes import router

    return (router,)


FEATURE = Feature(name="audit", routers=routers, tables=(AuditEvent,))

"""Activity's wiring: the operations API and the live event stream (no tables of its own:
it reads the operation records and the outbox of the ground floor)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from stackgate.wiring import Feature

if TYPE_CHECKING:
    from fastapi import APIRouter


def routers() -> Sequence[APIRouter]:
    from stackgate.activity.operations.routes import router as operations
    from stackgate.activity.stream.routes import router as stream

    return (operations, stream)


FEATURE = Feature(name="activity", routers=routers)

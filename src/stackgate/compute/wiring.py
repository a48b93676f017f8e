"""Compute's wiring: the server routers, the server handler, the server events, its table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from stackgate.compute.events import derive_server
from stackgate.compute.handlers import ServerOperationHandler, repair_orphans
from stackgate.compute.models import Server
from stackgate.wiring import Feature, HandlerParts
from stackgate.worker.registry import OperationHandler

if TYPE_CHECKING:
    from fastapi import APIRouter


def handlers(parts: HandlerParts) -> Mapping[str, OperationHandler]:
    return {"server": parts.make(ServerOperationHandler, poll_cap=0.5)}


def cloud_routers() -> Sequence[APIRouter]:
    from stackgate.compute.actions.routes import router as actions
    from stackgate.compute.security_groups.routes import router as security_groups
    from stackgate.compute.servers.routes import router as servers
    from stackgate.compute.volume_attachments.routes import router as volume_attachments

    # The security-group actions before the generic /actions/{action} route that would match.
    return (servers, security_groups, actions, volume_attachments)


FEATURE = Feature(
    name="compute",
    cloud_routers=cloud_routers,
    handlers=handlers,
    repairs={"servers": repair_orphans},
    events={"server": derive_server},
    tables=(Server,),
)

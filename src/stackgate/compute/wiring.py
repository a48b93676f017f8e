"""Compute's wiring: the server routers, the server handler, the server events, its table."""

from __future__ import annotations

from collections.abc import Mapping

from stackgate.compute.actions.routes import router as action_router
from stackgate.compute.events import derive_server
from stackgate.compute.handlers import ServerOperationHandler, repair_orphans
from stackgate.compute.models import Server
from stackgate.compute.security_groups.routes import router as security_group_router
from stackgate.compute.servers.routes import router as server_router
from stackgate.compute.volume_attachments.routes import router as volume_attachment_router
from stackgate.wiring import Feature, HandlerParts
from stackgate.worker.registry import OperationHandler


def handlers(parts: HandlerParts) -> Mapping[str, OperationHandler]:
    return {"server": parts.make(ServerOperationHandler, poll_cap=0.5)}


FEATURE = Feature(
    name="compute",
    # The security-group actions before the generic /actions/{action} route that would match.
    cloud_routers=(server_router, security_group_router, action_router, volume_attachment_router),
    handlers=handlers,
    repairs={"servers": repair_orphans},
    events={"server": derive_server},
    tables=(Server,),
)

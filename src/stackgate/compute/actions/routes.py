"""Server action routes: /api/v1/vms/{id}/actions, /api/v1/vms/{id}/snapshots."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from stackgate.catalog.public import ImageList, ImageRead
from stackgate.compute.actions.schemas import ActionList, ActionRequest, SnapshotCreate
from stackgate.compute.actions.service import ServerActionService
from stackgate.compute.servers.routes import ACT, ONE, ServersDep, accepted
from stackgate.compute.servers.schemas import ServerRead
from stackgate.core.deps import ContextDep, PreferWaitDep, policy_doc
from stackgate.core.problem import problem_responses


async def _actions(request: Request) -> ServerActionService:
    service: ServerActionService = request.app.state.container.server_actions
    return service


ActionsDep = Annotated[ServerActionService, Depends(_actions)]


class ActionName(StrEnum):
    start = "start"
    stop = "stop"
    reboot = "reboot"
    restart = "restart"
    pause = "pause"
    unpause = "unpause"
    suspend = "suspend"
    resume = "resume"
    resize = "resize"
    confirm_resize = "confirm-resize"
    revert_resize = "revert-resize"
    rebuild = "rebuild"
    shelve = "shelve"
    unshelve = "unshelve"
    lock = "lock"
    unlock = "unlock"


router = APIRouter(prefix="/api/v1/vms", tags=["servers"], responses=problem_responses(400, 422))


@router.post(
    "/{server_id}/actions/{action}",
    response_model=ServerRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ACT,
    openapi_extra=policy_doc("server:action"),
)
async def server_action(
    server_id: str,
    action: ActionName,
    ctx: ContextDep,
    servers: ServersDep,
    actions: ActionsDep,
    wait: PreferWaitDep,
    response: Response,
    body: ActionRequest | None = None,
) -> object:
    """Run a lifecycle action; allowed states follow Nova (409 otherwise)."""
    server = await actions.act(ctx, server_id, action.value, body)
    return await accepted(servers, ctx, server, wait, response)


@router.get(
    "/{server_id}/actions",
    response_model=ActionList,
    responses=ONE,
    openapi_extra=policy_doc("server:get"),
)
async def list_server_actions(server_id: str, ctx: ContextDep, actions: ActionsDep) -> object:
    """The instance action log (Nova's os-instance-actions), newest first."""
    return {"items": await actions.list_actions(ctx, server_id)}


@router.post(
    "/{server_id}/snapshots",
    response_model=ImageRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ACT,
    openapi_extra=policy_doc("server:snapshot"),
)
async def create_snapshot(
    server_id: str, data: SnapshotCreate, ctx: ContextDep, actions: ActionsDep, response: Response
) -> object:
    """Snapshot a server into a new image (queued, then active)."""
    image = await actions.snapshot(ctx, server_id, data)
    response.headers["Location"] = f"/api/v1/images/{image.id}"
    return image


@router.get(
    "/{server_id}/snapshots",
    response_model=ImageList,
    responses=ONE,
    openapi_extra=policy_doc("server:get"),
)
async def list_snapshots(server_id: str, ctx: ContextDep, actions: ActionsDep) -> object:
    """Images made from this server."""
    images = await actions.list_snapshots(ctx, server_id)
    return {"items": images, "total": len(images), "page": 1, "per_page": max(len(images), 1)}

"""Server HTTP routes: /api/v1/vms."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from stackgate.catalog.public import ImageList, ImageRead
from stackgate.compute.actions import ServerActionService
from stackgate.compute.attachments import ServerVolumeService
from stackgate.compute.schemas import (
    ActionList,
    ActionRequest,
    SecurityGroupAction,
    ServerCreate,
    ServerDetail,
    ServerList,
    ServerRead,
    ServerUpdate,
    SnapshotCreate,
    VolumeAttach,
    VolumeAttachmentList,
    VolumeAttachmentRead,
)
from stackgate.compute.server_groups import ServerSecurityGroupService
from stackgate.compute.service import ServerService
from stackgate.compute.states import Status
from stackgate.core.deps import (
    ContextDep,
    IdempotencyKeyDep,
    PreferWaitDep,
    page_params,
    policy_doc,
)
from stackgate.core.idempotency import StoredResponse
from stackgate.core.pagination import PageRequest
from stackgate.core.problem import problem_responses


async def _servers(request: Request) -> ServerService:
    service: ServerService = request.app.state.container.servers
    return service


async def _actions(request: Request) -> ServerActionService:
    service: ServerActionService = request.app.state.container.server_actions
    return service


async def _volumes(request: Request) -> ServerVolumeService:
    return ServerVolumeService(request.app.state.container.servers)


async def _groups(request: Request) -> ServerSecurityGroupService:
    return ServerSecurityGroupService(request.app.state.container.servers)


ServersDep = Annotated[ServerService, Depends(_servers)]
ActionsDep = Annotated[ServerActionService, Depends(_actions)]
VolumesDep = Annotated[ServerVolumeService, Depends(_volumes)]
GroupsDep = Annotated[ServerSecurityGroupService, Depends(_groups)]
ServerPage = Annotated[
    PageRequest, Depends(page_params(["created_at", "updated_at", "name", "status"], "-created_at"))
]

StatusFilter = StrEnum(  # type: ignore[misc]
    "StatusFilter",
    {s.value: s.value for s in Status if s is not Status.UNKNOWN}
    | {"RUNNING": "RUNNING", "STOPPED": "STOPPED"},
)


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
_ONE = problem_responses(404)
_ACT = problem_responses(404, 409)


def _location(server_id: str) -> str:
    return f"/api/v1/vms/{server_id}"


async def _accepted(
    servers: ServerService, ctx: ContextDep, server: ServerDetail, wait: float, response: Response
) -> ServerDetail:
    """202 with the resource and Location; with `Prefer: wait=N`, 200 once it settled."""
    response.headers["Location"] = _location(server.server.id)
    if wait <= 0:
        response.status_code = status.HTTP_202_ACCEPTED
        return server
    server, settled = await servers.wait(ctx, server.server.id, wait)
    response.headers["Preference-Applied"] = f"wait={wait:g}"
    response.status_code = status.HTTP_200_OK if settled else status.HTTP_202_ACCEPTED
    return server


@router.post(
    "",
    response_model=ServerRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(403, 409),
    openapi_extra=policy_doc("server:create"),
)
async def create_server(
    data: ServerCreate,
    ctx: ContextDep,
    servers: ServersDep,
    key: IdempotencyKeyDep,
    wait: PreferWaitDep,
    response: Response,
) -> object:
    """Create a server: 202 in BUILD; the worker brings it to ACTIVE or ERROR."""
    result = await servers.create(ctx, data, idempotency_key=key)
    if isinstance(result, StoredResponse):
        return JSONResponse(
            result.body,
            status_code=result.status_code,
            headers={"Location": _location(str(result.resource_id)), "Idempotent-Replayed": "true"},
        )
    return await _accepted(servers, ctx, result, wait, response)


@router.get("", response_model=ServerList, openapi_extra=policy_doc("server:list"))
async def list_servers(
    ctx: ContextDep,
    servers: ServersDep,
    page: ServerPage,
    status_: Annotated[StatusFilter | None, Query(alias="status")] = None,
    name: Annotated[str | None, Query(max_length=255, description="Name substring.")] = None,
    flavor: Annotated[str | None, Query(max_length=255, description="Flavor name or id.")] = None,
    image: Annotated[str | None, Query(max_length=255, description="Image name or id.")] = None,
) -> object:
    """List the project's servers (DELETED ones only with status=DELETED)."""
    result = await servers.list(
        ctx,
        status=status_.value if status_ else None,
        name=name,
        flavor=flavor,
        image=image,
        page=page,
    )
    return result.as_body()


@router.get(
    "/{server_id}",
    response_model=ServerRead,
    responses=_ONE,
    openapi_extra=policy_doc("server:get"),
)
async def get_server(server_id: str, ctx: ContextDep, servers: ServersDep) -> object:
    """Show a server, deleted ones included."""
    return await servers.get(ctx, server_id)


@router.patch(
    "/{server_id}",
    response_model=ServerRead,
    responses=_ACT,
    openapi_extra=policy_doc("server:update"),
)
async def update_server(
    server_id: str, data: ServerUpdate, ctx: ContextDep, servers: ServersDep
) -> object:
    """Change name, description or metadata."""
    return await servers.update(ctx, server_id, data)


@router.delete(
    "/{server_id}",
    response_model=ServerRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
    openapi_extra=policy_doc("server:delete"),
)
async def delete_server(
    server_id: str, ctx: ContextDep, servers: ServersDep, wait: PreferWaitDep, response: Response
) -> object:
    """Delete a server (soft: it ends DELETED and stays readable by id)."""
    server = await servers.delete(ctx, server_id)
    return await _accepted(servers, ctx, server, wait, response)


# Declared before the generic action route, which would otherwise match these paths.
@router.post(
    "/{server_id}/actions/add-security-group",
    response_model=ServerRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
    openapi_extra=policy_doc("server:security_group"),
)
async def add_security_group(
    server_id: str, data: SecurityGroupAction, ctx: ContextDep, groups: GroupsDep
) -> object:
    """Add a security group (name or id) to every port of the server (409 if already on)."""
    return await groups.change(ctx, server_id, data, add=True)


@router.post(
    "/{server_id}/actions/remove-security-group",
    response_model=ServerRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
    openapi_extra=policy_doc("server:security_group"),
)
async def remove_security_group(
    server_id: str, data: SecurityGroupAction, ctx: ContextDep, groups: GroupsDep
) -> object:
    """Remove a security group from the server's ports (404 if it is not on the server)."""
    return await groups.change(ctx, server_id, data, add=False)


@router.post(
    "/{server_id}/actions/{action}",
    response_model=ServerRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
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
    return await _accepted(servers, ctx, server, wait, response)


@router.get(
    "/{server_id}/actions",
    response_model=ActionList,
    responses=_ONE,
    openapi_extra=policy_doc("server:get"),
)
async def list_server_actions(server_id: str, ctx: ContextDep, servers: ServersDep) -> object:
    """The instance action log (Nova's os-instance-actions), newest first."""
    return {"items": await servers.list_actions(ctx, server_id)}


@router.post(
    "/{server_id}/snapshots",
    response_model=ImageRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
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
    responses=_ONE,
    openapi_extra=policy_doc("server:get"),
)
async def list_snapshots(server_id: str, ctx: ContextDep, actions: ActionsDep) -> object:
    """Images made from this server."""
    images = await actions.list_snapshots(ctx, server_id)
    return {"items": images, "total": len(images), "page": 1, "per_page": max(len(images), 1)}


@router.post(
    "/{server_id}/volumes",
    response_model=VolumeAttachmentRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
    openapi_extra=policy_doc("server:volume"),
)
async def attach_volume(
    server_id: str, data: VolumeAttach, ctx: ContextDep, volumes: VolumesDep, response: Response
) -> object:
    """Attach one of your available volumes (reserved now, in-use once the cloud attached it)."""
    body = await volumes.attach(ctx, server_id, data)
    response.headers["Location"] = f"/api/v1/vms/{server_id}/volumes/{body['volume_id']}"
    return body


@router.get(
    "/{server_id}/volumes",
    response_model=VolumeAttachmentList,
    responses=_ONE,
    openapi_extra=policy_doc("server:get"),
)
async def list_volume_attachments(server_id: str, ctx: ContextDep, volumes: VolumesDep) -> object:
    """The server's volume attachments, root volume included."""
    return {"items": await volumes.list(ctx, server_id)}


@router.delete(
    "/{server_id}/volumes/{volume_id}",
    response_model=VolumeAttachmentRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
    openapi_extra=policy_doc("server:volume"),
)
async def detach_volume(
    server_id: str, volume_id: str, ctx: ContextDep, volumes: VolumesDep
) -> object:
    """Detach a data volume (409 for the root volume, 404 if not attached here)."""
    return await volumes.detach(ctx, server_id, volume_id)

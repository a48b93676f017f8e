"""Volume attachment routes: /api/v1/vms/{id}/volumes (Nova's os-volume_attachments)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from stackgate.compute.servers.routes import ACT, ONE
from stackgate.compute.volume_attachments.schemas import (
    VolumeAttach,
    VolumeAttachmentList,
    VolumeAttachmentRead,
)
from stackgate.compute.volume_attachments.service import ServerVolumeService
from stackgate.core.deps import ContextDep, policy_doc
from stackgate.core.problem import problem_responses


async def _volumes(request: Request) -> ServerVolumeService:
    return ServerVolumeService(request.app.state.container.servers)


VolumesDep = Annotated[ServerVolumeService, Depends(_volumes)]
router = APIRouter(prefix="/api/v1/vms", tags=["servers"], responses=problem_responses(400, 422))


@router.post(
    "/{server_id}/volumes",
    response_model=VolumeAttachmentRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ACT,
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
    responses=ONE,
    openapi_extra=policy_doc("server:get"),
)
async def list_volume_attachments(server_id: str, ctx: ContextDep, volumes: VolumesDep) -> object:
    """The server's volume attachments, root volume included."""
    return {"items": await volumes.list(ctx, server_id)}


@router.delete(
    "/{server_id}/volumes/{volume_id}",
    response_model=VolumeAttachmentRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ACT,
    openapi_extra=policy_doc("server:volume"),
)
async def detach_volume(
    server_id: str, volume_id: str, ctx: ContextDep, volumes: VolumesDep
) -> object:
    """Detach a data volume (409 for the root volume, 404 if not attached here)."""
    return await volumes.detach(ctx, server_id, volume_id)

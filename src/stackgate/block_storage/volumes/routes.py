"""Volume HTTP routes: /api/v1/volumes and /api/v1/volume-types."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from stackgate.block_storage.volumes.schemas import (
    VolumeCreate,
    VolumeExtend,
    VolumeList,
    VolumeRead,
    VolumeTypeList,
    VolumeUpdate,
)
from stackgate.block_storage.volumes.service import VolumeService
from stackgate.core.deps import ContextDep, IdempotencyKeyDep, page_params, policy_doc
from stackgate.core.idempotency import StoredResponse
from stackgate.core.pagination import PageRequest
from stackgate.core.problem import problem_responses
from stackgate.semantics.cinder import VolumeStatus


async def _volumes(request: Request) -> VolumeService:
    service: VolumeService = request.app.state.container.volumes
    return service


VolumesDep = Annotated[VolumeService, Depends(_volumes)]
VolumePage = Annotated[
    PageRequest,
    Depends(page_params(["created_at", "updated_at", "name", "status", "size"], "-created_at")),
]
VolumeStatusQuery = Annotated[VolumeStatus | None, Query(alias="status")]

router = APIRouter(tags=["block storage"], responses=problem_responses(400, 422))
_ONE = problem_responses(404)
_ACT = problem_responses(403, 404, 409)


def _location(volume_id: str) -> str:
    return f"/api/v1/volumes/{volume_id}"


@router.get(
    "/api/v1/volume-types", response_model=VolumeTypeList, openapi_extra=policy_doc("volume:read")
)
async def list_volume_types(ctx: ContextDep, volumes: VolumesDep) -> object:
    """The volume types a volume may be created with."""
    return {"items": volumes.volume_types(ctx)}


@router.post(
    "/api/v1/volumes",
    response_model=VolumeRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(403, 409),
    openapi_extra=policy_doc("volume:create"),
)
async def create_volume(
    data: VolumeCreate,
    ctx: ContextDep,
    volumes: VolumesDep,
    key: IdempotencyKeyDep,
    response: Response,
) -> object:
    """Create a volume: 202 in creating; the worker brings it to available or error."""
    result = await volumes.create(ctx, data, idempotency_key=key)
    if isinstance(result, StoredResponse):
        return JSONResponse(
            result.body,
            status_code=result.status_code,
            headers={"Location": _location(str(result.resource_id)), "Idempotent-Replayed": "true"},
        )
    response.headers["Location"] = _location(result.id)
    return result


@router.get("/api/v1/volumes", response_model=VolumeList, openapi_extra=policy_doc("volume:read"))
async def list_volumes(
    ctx: ContextDep,
    volumes: VolumesDep,
    page: VolumePage,
    status_: VolumeStatusQuery = None,
    name: Annotated[str | None, Query(max_length=255, description="Name substring.")] = None,
) -> object:
    """The project's volumes."""
    result = await volumes.list(
        ctx, status=status_.value if status_ else None, name=name, page=page
    )
    return result.as_body()


@router.get(
    "/api/v1/volumes/{volume_id}",
    response_model=VolumeRead,
    responses=_ONE,
    openapi_extra=policy_doc("volume:read"),
)
async def get_volume(volume_id: str, ctx: ContextDep, volumes: VolumesDep) -> object:
    """Show a volume with its attachment."""
    return await volumes.get(ctx, volume_id)


@router.patch(
    "/api/v1/volumes/{volume_id}",
    response_model=VolumeRead,
    responses=_ACT,
    openapi_extra=policy_doc("volume:update"),
)
async def update_volume(
    volume_id: str, data: VolumeUpdate, ctx: ContextDep, volumes: VolumesDep
) -> object:
    """Change name or description."""
    return await volumes.update(ctx, volume_id, data)


@router.delete(
    "/api/v1/volumes/{volume_id}",
    response_model=VolumeRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
    openapi_extra=policy_doc("volume:delete"),
)
async def delete_volume(
    volume_id: str, ctx: ContextDep, volumes: VolumesDep, response: Response
) -> object:
    """Delete an available or error volume without snapshots: 202 deleting, then gone."""
    volume = await volumes.delete(ctx, volume_id)
    response.headers["Location"] = _location(volume.id)
    return volume


@router.post(
    "/api/v1/volumes/{volume_id}/actions/extend",
    response_model=VolumeRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
    openapi_extra=policy_doc("volume:action"),
)
async def extend_volume(
    volume_id: str, data: VolumeExtend, ctx: ContextDep, volumes: VolumesDep, response: Response
) -> object:
    """Grow an available volume (extending, then available with the new size)."""
    volume = await volumes.extend(ctx, volume_id, data.new_size)
    response.headers["Location"] = _location(volume.id)
    return volume

"""Block-storage HTTP routes: /api/v1/volumes, /api/v1/volume-snapshots, /api/v1/volume-types."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from stackgate.block_storage.schemas import (
    SnapshotCreate,
    SnapshotList,
    SnapshotRead,
    VolumeCreate,
    VolumeExtend,
    VolumeList,
    VolumeRead,
    VolumeTypeList,
    VolumeUpdate,
)
from stackgate.block_storage.snapshots import SnapshotService
from stackgate.block_storage.states import SnapshotStatus, VolumeStatus
from stackgate.block_storage.volumes import VolumeService
from stackgate.core.deps import ContextDep, IdempotencyKeyDep, page_params, policy_doc
from stackgate.core.idempotency import StoredResponse
from stackgate.core.pagination import PageRequest
from stackgate.core.problem import problem_responses


async def _volumes(request: Request) -> VolumeService:
    service: VolumeService = request.app.state.container.volumes
    return service


async def _snapshots(request: Request) -> SnapshotService:
    service: SnapshotService = request.app.state.container.volume_snapshots
    return service


VolumesDep = Annotated[VolumeService, Depends(_volumes)]
SnapshotsDep = Annotated[SnapshotService, Depends(_snapshots)]
VolumePage = Annotated[
    PageRequest,
    Depends(page_params(["created_at", "updated_at", "name", "status", "size"], "-created_at")),
]
SnapshotPage = Annotated[
    PageRequest, Depends(page_params(["created_at", "name", "status"], "-created_at"))
]
VolumeStatusQuery = Annotated[VolumeStatus | None, Query(alias="status")]
SnapshotStatusQuery = Annotated[SnapshotStatus | None, Query(alias="status")]

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


def _snapshot_location(snapshot_id: str) -> str:
    return f"/api/v1/volume-snapshots/{snapshot_id}"


@router.post(
    "/api/v1/volume-snapshots",
    response_model=SnapshotRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(403, 409),
    openapi_extra=policy_doc("volume:create"),
)
async def create_volume_snapshot(
    data: SnapshotCreate, ctx: ContextDep, snapshots: SnapshotsDep, response: Response
) -> object:
    """Snapshot a volume: 202 in creating; the worker brings it to available or error."""
    snapshot = await snapshots.create(ctx, data)
    response.headers["Location"] = _snapshot_location(snapshot.id)
    return snapshot


@router.get(
    "/api/v1/volume-snapshots", response_model=SnapshotList, openapi_extra=policy_doc("volume:read")
)
async def list_volume_snapshots(
    ctx: ContextDep,
    snapshots: SnapshotsDep,
    page: SnapshotPage,
    volume_id: Annotated[str | None, Query(max_length=36)] = None,
    status_: SnapshotStatusQuery = None,
) -> object:
    """The project's volume snapshots."""
    result = await snapshots.list(
        ctx, volume_id=volume_id, status=status_.value if status_ else None, page=page
    )
    return result.as_body()


@router.get(
    "/api/v1/volume-snapshots/{snapshot_id}",
    response_model=SnapshotRead,
    responses=_ONE,
    openapi_extra=policy_doc("volume:read"),
)
async def get_volume_snapshot(snapshot_id: str, ctx: ContextDep, snapshots: SnapshotsDep) -> object:
    return await snapshots.get(ctx, snapshot_id)


@router.delete(
    "/api/v1/volume-snapshots/{snapshot_id}",
    response_model=SnapshotRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
    openapi_extra=policy_doc("volume:delete"),
)
async def delete_volume_snapshot(
    snapshot_id: str, ctx: ContextDep, snapshots: SnapshotsDep, response: Response
) -> object:
    """Delete a snapshot: 202 deleting, then gone."""
    snapshot = await snapshots.delete(ctx, snapshot_id)
    response.headers["Location"] = _snapshot_location(snapshot.id)
    return snapshot

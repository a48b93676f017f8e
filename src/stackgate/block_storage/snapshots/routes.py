"""Volume snapshot HTTP routes: /api/v1/volume-snapshots."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from stackgate.block_storage.snapshots.schemas import SnapshotCreate, SnapshotList, SnapshotRead
from stackgate.block_storage.snapshots.service import SnapshotService
from stackgate.core.deps import ContextDep, page_params, policy_doc
from stackgate.core.pagination import PageRequest
from stackgate.core.problem import problem_responses
from stackgate.semantics.cinder import SnapshotStatus


async def _snapshots(request: Request) -> SnapshotService:
    service: SnapshotService = request.app.state.container.volume_snapshots
    return service


SnapshotsDep = Annotated[SnapshotService, Depends(_snapshots)]
SnapshotPage = Annotated[
    PageRequest, Depends(page_params(["created_at", "name", "status"], "-created_at"))
]
SnapshotStatusQuery = Annotated[SnapshotStatus | None, Query(alias="status")]

router = APIRouter(tags=["block storage"], responses=problem_responses(400, 422))
_ONE = problem_responses(404)
_ACT = problem_responses(403, 404, 409)


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

"""Cinder v3 snapshots over the simulated block storage (cinder/api/v3/snapshots.py). A snapshot
belongs to its volume's project (the simulator keeps no owner of its own)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.fakecloud.auth import Caller, CallerDep, CloudDep, WriterDep, base_url, visible
from stackgate.fakecloud.cinder_common import (
    SERVICE,
    CinderRoute,
    metadata_filter,
    paginate,
    snapshot_body,
    truthy,
    version_of,
)
from stackgate.fakecloud.cinder_quotas import check_quota
from stackgate.fakecloud.cinder_volumes import load_volume, touch
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.errors import CloudError
from stackgate.providers.simulator.tables import SimCinderRecord, SimSnapshot, SimVolume
from stackgate.providers.simulator.volumes import snapshot_not_found

router = APIRouter(route_class=CinderRoute)
Row = tuple[SimSnapshot, SimCinderRecord | None, str]


async def _rows(cloud: FakeCloud, snapshot_ids: list[str] | None) -> list[Row]:
    async def read(session: AsyncSession) -> list[Row]:
        stmt = (
            select(SimSnapshot, SimCinderRecord, SimVolume.project_id)
            .join(SimVolume, SimVolume.id == SimSnapshot.volume_id)
            .outerjoin(SimCinderRecord, SimCinderRecord.id == SimSnapshot.id)
            .order_by(SimSnapshot.created_at.desc(), SimSnapshot.id.desc())
        )
        if snapshot_ids is not None:
            stmt = stmt.where(SimSnapshot.id.in_(snapshot_ids))
        return [(s, r, p) for s, r, p in (await session.execute(stmt)).all()]

    return await cloud.sim.store.run(read)


async def _load(cloud: FakeCloud, caller: Caller, snapshot_id: str) -> Row:
    await cloud.sim.block_storage.get_snapshot(snapshot_id)
    found = await _rows(cloud, [snapshot_id])
    if not found or not visible(caller, found[0][2]):
        raise snapshot_not_found(snapshot_id)
    return found[0]


def _render(request: Request, row: Row) -> dict[str, Any]:
    snapshot, record, project_id = row
    return snapshot_body(snapshot, record, project_id=project_id, version=version_of(request))


def _flag(raw: Any) -> bool:
    """`force` as a JSON boolean or a string ("True"), as Cinder's schema allows."""
    if isinstance(raw, bool):
        return raw
    return raw is not None and truthy(str(raw))


@router.post("/snapshots", status_code=202)
async def create_snapshot(
    request: Request, cloud: CloudDep, caller: WriterDep, body: dict[str, Any] = Body(...)
) -> JSONResponse:
    spec = body.get("snapshot")
    if not isinstance(spec, dict) or not spec.get("volume_id"):
        raise CloudError(SERVICE, 400, "Missing required element 'snapshot' in request body.")
    metadata = spec.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise CloudError(
            SERVICE, 400, f"Invalid input for field/attribute metadata. Value: {metadata}."
        )
    volume, _, _ = await load_volume(cloud, caller, str(spec["volume_id"]))
    # From 3.66 an in-use volume is snapshotted without `force` (cinder/api/v3/snapshots.py).
    force = _flag(spec.get("force")) or version_of(request) >= (3, 66)
    await check_quota(cloud, volume.project_id, snapshots=1, gigabytes=volume.size_gb)
    name = spec.get("name", spec.get("display_name"))
    made = await cloud.sim.block_storage.create_snapshot(
        volume.id,
        str(name or ""),
        metadata={str(k): str(v) for k, v in metadata.items()},
        force=force,
    )
    description = spec.get("description", spec.get("display_description"))
    await touch(cloud, made.id, caller.user_id, description=description)
    row = (await _rows(cloud, [made.id]))[0]
    return JSONResponse({"snapshot": _render(request, row)}, status_code=202)


async def _listing(request: Request, cloud: FakeCloud, caller: Caller) -> tuple[list[Row], bool]:
    query = request.query_params
    await cloud.sim.block_storage.snapshots()  # settles due operations, applies injected faults
    every = caller.is_admin and truthy(query.get("all_tenants"))
    project = query.get("project_id") if every else caller.project_id
    wanted = metadata_filter(query.get("metadata"))
    rows = [
        row
        for row in await _rows(cloud, None)
        if (project is None or row[2] == project)
        and (query.get("name") is None or row[0].name == query.get("name"))
        and (query.get("status") is None or row[0].status == query.get("status"))
        and (query.get("volume_id") is None or row[0].volume_id == query.get("volume_id"))
        and all(row[0].meta.get(k) == v for k, v in wanted.items())
    ]
    return paginate(rows, lambda r: r[0].id, limit=query.get("limit"), marker=query.get("marker"))


def _page(
    request: Request, rows: list[Row], more: bool, collection: str, *, detail: bool
) -> JSONResponse:
    items = [_render(request, r) for r in rows]
    if not detail:
        items = [
            {k: v for k, v in item.items() if not k.startswith("os-extended")} for item in items
        ]
    body: dict[str, Any] = {"snapshots": items}
    if more:
        params = {**request.query_params, "marker": rows[-1][0].id}
        query = "&".join(f"{k}={v}" for k, v in params.items())
        project = request.path_params.get("project_id")
        prefix = f"/volume/v3/{project}" if project else "/volume/v3"
        body["snapshots_links"] = [
            {"href": f"{base_url(request)}{prefix}/{collection}?{query}", "rel": "next"}
        ]
    return JSONResponse(body)


@router.get("/snapshots/detail")
async def list_snapshots_detail(
    request: Request, cloud: CloudDep, caller: CallerDep
) -> JSONResponse:
    rows, more = await _listing(request, cloud, caller)
    return _page(request, rows, more, "snapshots/detail", detail=True)


@router.get("/snapshots")
async def list_snapshots(request: Request, cloud: CloudDep, caller: CallerDep) -> JSONResponse:
    rows, more = await _listing(request, cloud, caller)
    return _page(request, rows, more, "snapshots", detail=False)


@router.get("/snapshots/{snapshot_id}")
async def show_snapshot(
    snapshot_id: str, request: Request, cloud: CloudDep, caller: CallerDep
) -> JSONResponse:
    return JSONResponse({"snapshot": _render(request, await _load(cloud, caller, snapshot_id))})


@router.put("/snapshots/{snapshot_id}")
async def update_snapshot(
    snapshot_id: str,
    request: Request,
    cloud: CloudDep,
    caller: WriterDep,
    body: dict[str, Any] = Body(...),
) -> JSONResponse:
    changes = body.get("snapshot")
    if not isinstance(changes, dict) or not changes:
        raise CloudError(SERVICE, 400, "Missing required element 'snapshot' in request body.")
    await _load(cloud, caller, snapshot_id)
    if "name" in changes:

        async def rename(session: AsyncSession) -> None:
            snapshot = await session.get(SimSnapshot, snapshot_id, with_for_update=True)
            if snapshot is None:
                raise snapshot_not_found(snapshot_id)
            snapshot.name = str(changes["name"] or "")

        await cloud.sim.store.run(rename, write=True)
    extra = {"description": changes["description"]} if "description" in changes else {}
    await touch(cloud, snapshot_id, **extra)
    return JSONResponse({"snapshot": _render(request, await _load(cloud, caller, snapshot_id))})


@router.delete("/snapshots/{snapshot_id}", status_code=202)
async def delete_snapshot(snapshot_id: str, cloud: CloudDep, caller: WriterDep) -> Response:
    await _load(cloud, caller, snapshot_id)
    await cloud.sim.block_storage.delete_snapshot(snapshot_id)
    return Response(status_code=202)

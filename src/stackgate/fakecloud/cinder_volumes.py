"""Cinder v3 volumes over the simulated block storage (cinder/api/v3/volumes.py,
cinder/api/contrib/volume_actions.py): the simulator's proxy decides every rule; the route
checks visibility, quota and the body's shape, and renders Cinder's view."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.fakecloud.auth import Caller, CallerDep, CloudDep, WriterDep, base_url, visible
from stackgate.fakecloud.cinder_common import (
    AVAILABILITY_ZONE,
    SERVICE,
    CinderRoute,
    metadata_filter,
    paginate,
    truthy,
    version_of,
    volume_body,
)
from stackgate.fakecloud.cinder_quotas import check_quota
from stackgate.fakecloud.cinder_types import DEFAULT_TYPE, find_type, type_id, type_not_found
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.errors import CloudError
from stackgate.providers.simulator.tables import SimCinderRecord, SimImage, SimVolume
from stackgate.providers.simulator.volumes import AVAILABLE, volume_not_found
from stackgate.providers.storage import VolumeSpec

router = APIRouter(route_class=CinderRoute)
Row = tuple[SimVolume, SimCinderRecord | None, str | None]


def _bad(message: str) -> CloudError:
    return CloudError(SERVICE, 400, message)


def _metadata(raw: Any) -> dict[str, str]:
    """Cinder's schema (cinder/api/validation/parameter_types.py metadata_allows_null): string
    keys of 1-255 characters, string values of at most 255."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and 0 < len(k) <= 255 and isinstance(v, str) and len(v) <= 255
        for k, v in raw.items()
    ):
        raise _bad(f"Invalid input for field/attribute metadata. Value: {raw}.")
    return dict(raw)


def _size(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise _bad(f"Invalid input for field/attribute size. Value: {raw}.")
    try:
        size = int(raw)
    except ValueError:
        raise _bad(f"Invalid input for field/attribute size. Value: {raw}.") from None
    if size < 1:
        raise _bad(
            f"Invalid input received: Volume size '{raw}' must be an integer and greater than 0."
        )
    return size


async def _rows(cloud: FakeCloud, volume_ids: list[str] | None) -> list[Row]:
    """Volumes (all, or these) with their records and image names, newest first."""

    async def read(session: AsyncSession) -> list[Row]:
        stmt = (
            select(SimVolume, SimCinderRecord, SimImage.name)
            .outerjoin(SimCinderRecord, SimCinderRecord.id == SimVolume.id)
            .outerjoin(SimImage, SimImage.id == SimVolume.image_id)
            .order_by(SimVolume.created_at.desc(), SimVolume.id.desc())
        )
        if volume_ids is not None:
            stmt = stmt.where(SimVolume.id.in_(volume_ids))
        return [(v, r, n) for v, r, n in (await session.execute(stmt)).all()]

    return await cloud.sim.store.run(read)


async def load_volume(cloud: FakeCloud, caller: Caller, volume_id: str) -> Row:
    """The volume the caller may see, its pending operation settled (else 404 itemNotFound)."""
    await cloud.sim.block_storage.get_volume(volume_id)
    found = await _rows(cloud, [volume_id])
    if not found or not visible(caller, found[0][0].project_id):
        raise volume_not_found(volume_id)
    return found[0]


def render(request: Request, caller: Caller, row: Row) -> dict[str, Any]:
    volume, record, image_name = row
    return volume_body(
        volume,
        record,
        root=base_url(request),
        caller=caller,
        version=version_of(request),
        type_id=type_id(volume.volume_type) if find_type(volume.volume_type) else None,
        image_name=image_name,
    )


async def touch(cloud: FakeCloud, item_id: str, user_id: str | None = None, **changes: Any) -> None:
    """Record who made a volume or snapshot and when Cinder's row last changed."""
    now = datetime.now(UTC)

    async def work(session: AsyncSession) -> None:
        record = await session.get(SimCinderRecord, item_id, with_for_update=True)
        if record is None:
            record = SimCinderRecord(id=item_id, user_id=user_id or "", updated_at=now)
            session.add(record)
        record.updated_at = now
        for name, value in changes.items():
            setattr(record, name, value)

    await cloud.sim.store.run(work, write=True)


@router.post("/volumes", status_code=202)
async def create_volume(
    request: Request, cloud: CloudDep, caller: WriterDep, body: dict[str, Any] = Body(...)
) -> JSONResponse:
    spec = body.get("volume")
    if not isinstance(spec, dict):
        raise _bad("Missing required element 'volume' in request body.")
    for source in ("snapshot_id", "source_volid", "backup_id"):
        if spec.get(source) is not None:
            raise _bad(
                f"Invalid input received: creating a volume from {source} is not offered "
                "by this cloud."
            )
    size = _size(spec.get("size"))
    zone = spec.get("availability_zone")
    if zone is not None and zone != AVAILABILITY_ZONE:
        # cinder/exception.py InvalidAvailabilityZone.
        raise _bad(f"Availability zone '{zone}' is invalid.")
    type_ref = spec.get("volume_type")
    type_name = DEFAULT_TYPE if type_ref is None else find_type(str(type_ref))
    if type_name is None:
        raise type_not_found(str(type_ref))
    image_id = spec.get("imageRef", spec.get("image_id"))
    name, description = spec.get("name"), spec.get("description")
    metadata = _metadata(spec.get("metadata"))
    project_id = caller.project_id or ""
    await check_quota(cloud, project_id, volumes=1, gigabytes=size, volume_size=size)
    made = await cloud.sim.block_storage.create_volume(
        VolumeSpec(
            name=str(name or ""),
            size_gb=size,
            project_id=project_id,
            description=None if description is None else str(description),
            image_id=None if image_id is None else str(image_id),
            volume_type=type_name,
            metadata=metadata,
        )
    )
    await touch(cloud, made.id, caller.user_id)
    row = (await _rows(cloud, [made.id]))[0]
    return JSONResponse({"volume": render(request, caller, row)}, status_code=202)


async def _listing(request: Request, cloud: FakeCloud, caller: Caller) -> tuple[list[Row], bool]:
    query = request.query_params
    await cloud.sim.block_storage.volumes()  # settles due operations, applies injected faults
    every = caller.is_admin and truthy(query.get("all_tenants"))
    project = query.get("project_id") if every else caller.project_id
    wanted = metadata_filter(query.get("metadata"))
    rows = [
        row
        for row in await _rows(cloud, None)
        if (project is None or row[0].project_id == project)
        and (query.get("name") is None or row[0].name == query.get("name"))
        and (query.get("status") is None or row[0].status == query.get("status"))
        and all(row[0].meta.get(k) == v for k, v in wanted.items())
    ]
    return paginate(rows, lambda r: r[0].id, limit=query.get("limit"), marker=query.get("marker"))


def _next_link(request: Request, rows: list[Row], collection: str) -> list[dict[str, str]]:
    params = dict(request.query_params)
    params["marker"] = rows[-1][0].id
    query = "&".join(f"{k}={v}" for k, v in params.items())
    project = request.path_params.get("project_id")
    prefix = f"/volume/v3/{project}" if project else "/volume/v3"
    return [{"href": f"{base_url(request)}{prefix}/{collection}?{query}", "rel": "next"}]


@router.get("/volumes/detail")
async def list_volumes_detail(request: Request, cloud: CloudDep, caller: CallerDep) -> JSONResponse:
    rows, more = await _listing(request, cloud, caller)
    body: dict[str, Any] = {"volumes": [render(request, caller, r) for r in rows]}
    if more:
        body["volumes_links"] = _next_link(request, rows, "volumes/detail")
    return JSONResponse(body)


@router.get("/volumes")
async def list_volumes(request: Request, cloud: CloudDep, caller: CallerDep) -> JSONResponse:
    """The summary view (cinder/api/v3/views/volumes.py summary): id, name, links."""
    rows, more = await _listing(request, cloud, caller)
    summaries = [
        {k: v for k, v in render(request, caller, r).items() if k in ("id", "name", "links")}
        for r in rows
    ]
    body: dict[str, Any] = {"volumes": summaries}
    if more:
        body["volumes_links"] = _next_link(request, rows, "volumes")
    return JSONResponse(body)


@router.get("/volumes/{volume_id}")
async def show_volume(
    volume_id: str, request: Request, cloud: CloudDep, caller: CallerDep
) -> JSONResponse:
    row = await load_volume(cloud, caller, volume_id)
    return JSONResponse({"volume": render(request, caller, row)})


@router.put("/volumes/{volume_id}")
async def update_volume(
    volume_id: str,
    request: Request,
    cloud: CloudDep,
    caller: WriterDep,
    body: dict[str, Any] = Body(...),
) -> JSONResponse:
    """Name, description and metadata: no rule of the simulator is involved, so the route
    changes the row itself (cinder/api/v3/volumes.py update)."""
    changes = body.get("volume")
    if not isinstance(changes, dict) or not changes:
        raise _bad("Missing required element 'volume' in request body.")
    await load_volume(cloud, caller, volume_id)
    metadata = _metadata(changes["metadata"]) if "metadata" in changes else None

    async def work(session: AsyncSession) -> None:
        volume = await session.get(SimVolume, volume_id, with_for_update=True)
        if volume is None:
            raise volume_not_found(volume_id)
        if "name" in changes or "display_name" in changes:
            volume.name = str(changes.get("name", changes.get("display_name")) or "")
        if "description" in changes or "display_description" in changes:
            described = changes.get("description", changes.get("display_description"))
            volume.description = None if described is None else str(described)
        if metadata is not None:
            volume.meta = metadata

    await cloud.sim.store.run(work, write=True)
    await touch(cloud, volume_id, caller.user_id)
    row = await load_volume(cloud, caller, volume_id)
    return JSONResponse({"volume": render(request, caller, row)})


@router.delete("/volumes/{volume_id}", status_code=202)
async def delete_volume(volume_id: str, cloud: CloudDep, caller: WriterDep) -> Response:
    """Cinder's rules (available or error, not attached, no snapshots: else 400 InvalidVolume)
    are the simulator's; `cascade` and `force` are not offered and change nothing."""
    await load_volume(cloud, caller, volume_id)
    await cloud.sim.block_storage.delete_volume(volume_id)
    return Response(status_code=202)


@router.post("/volumes/{volume_id}/action")
async def volume_action(
    volume_id: str, cloud: CloudDep, caller: WriterDep, body: dict[str, Any] = Body(...)
) -> Response:
    if "os-extend" in body:
        return await _extend(cloud, caller, volume_id, body["os-extend"])
    action = next(iter(body), "")
    # cinder/api/openstack/wsgi.py: an action no controller offers.
    raise _bad(f"There is no such action: {action}")


async def _extend(cloud: FakeCloud, caller: Caller, volume_id: str, args: Any) -> Response:
    """os-extend (volume_actions.py _extend): the simulator checks status and size; the
    gigabytes quota is checked for a growth it would accept, as Cinder reserves it."""
    if not isinstance(args, dict) or "new_size" not in args:
        raise _bad("Invalid input for field/attribute os-extend. Value: None.")
    new_size = _size(args["new_size"])
    volume, _, _ = await load_volume(cloud, caller, volume_id)
    if volume.status == AVAILABLE and new_size > volume.size_gb:
        await check_quota(cloud, volume.project_id, gigabytes=new_size - volume.size_gb)
    await cloud.sim.block_storage.extend_volume(volume_id, new_size)
    await touch(cloud, volume_id)
    return Response(status_code=202)


@router.get("/volumes/{volume_id}/metadata")
async def show_metadata(volume_id: str, cloud: CloudDep, caller: CallerDep) -> JSONResponse:
    volume, _, _ = await load_volume(cloud, caller, volume_id)
    return JSONResponse({"metadata": dict(volume.meta)})


@router.post("/volumes/{volume_id}/metadata")
async def merge_metadata(
    volume_id: str, cloud: CloudDep, caller: WriterDep, body: dict[str, Any] = Body(...)
) -> JSONResponse:
    """POST merges (what the SDK's set_volume_metadata sends); PUT replaces."""
    return await _set_metadata(cloud, caller, volume_id, body, replace=False)


@router.put("/volumes/{volume_id}/metadata")
async def replace_metadata(
    volume_id: str, cloud: CloudDep, caller: WriterDep, body: dict[str, Any] = Body(...)
) -> JSONResponse:
    return await _set_metadata(cloud, caller, volume_id, body, replace=True)


async def _set_metadata(
    cloud: FakeCloud, caller: Caller, volume_id: str, body: dict[str, Any], *, replace: bool
) -> JSONResponse:
    if "metadata" not in body:
        raise _bad("Malformed request body")
    given = _metadata(body["metadata"])
    await load_volume(cloud, caller, volume_id)

    async def work(session: AsyncSession) -> dict[str, str]:
        volume = await session.get(SimVolume, volume_id, with_for_update=True)
        if volume is None:
            raise volume_not_found(volume_id)
        volume.meta = given if replace else {**volume.meta, **given}
        return dict(volume.meta)

    result = await cloud.sim.store.run(work, write=True)
    await touch(cloud, volume_id)
    return JSONResponse({"metadata": result})

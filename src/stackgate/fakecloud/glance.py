"""Glance v2 over the simulator: discovery, images list/show/create/update/delete and a
minimal upload. Shapes follow glance/api/versions.py and glance/api/v2/images.py (the
ImagesController and its ResponseSerializer): flat image bodies, extra properties at the top
level, 201 on create, 204 on delete, 300 Multiple Choices for the version list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.fakecloud.auth import CallerDep, CloudDep, WriterDep, base_url
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.errors import CloudError
from stackgate.fakecloud.glance_images import (
    Image,
    all_images,
    can_see,
    find_image,
    is_built_in,
)
from stackgate.providers.simulator.tables import SimImageRecord

router = APIRouter(tags=["glance"])

# Glance's image API versions, newest first: CURRENT, the rest SUPPORTED.
_VERSIONS = ("2.17", "2.16", "2.15", "2.9", "2.7", "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0")
# Core attributes a PATCH may change and create may set (the schema's writable ones).
_WRITABLE = ("name", "visibility", "min_disk", "min_ram", "disk_format", "container_format")
_READ_ONLY = {
    "id",
    "status",
    "owner",
    "size",
    "virtual_size",
    "checksum",
    "created_at",
    "updated_at",
    "self",
    "file",
    "schema",
    "direct_url",
    "locations",
    "os_hash_algo",
    "os_hash_value",
}


def _versions(request: Request) -> dict[str, Any]:
    href = f"{base_url(request)}/image/v2/"
    return {
        "versions": [
            {
                "id": f"v{v}",
                "status": "CURRENT" if i == 0 else "SUPPORTED",
                "links": [{"rel": "self", "href": href}],
            }
            for i, v in enumerate(_VERSIONS)
        ]
    }


@router.get("/", include_in_schema=False)
@router.get("", include_in_schema=False)
async def versions(request: Request) -> JSONResponse:
    return JSONResponse(_versions(request), status_code=300)


@router.get("/versions", include_in_schema=False)
async def versions_list(request: Request) -> dict[str, Any]:
    return _versions(request)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def image_body(image: Image) -> dict[str, Any]:
    body: dict[str, Any] = {
        **image.properties,
        "id": image.id,
        "name": image.name,
        "status": image.status,
        "visibility": image.visibility,
        "protected": image.protected,
        "os_hidden": False,
        "owner": image.owner,
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "size": image.size,
        "virtual_size": None,
        "checksum": None,
        "os_hash_algo": None,
        "os_hash_value": None,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "tags": list(image.tags),
        "created_at": _iso(image.created_at),
        "updated_at": _iso(image.updated_at),
        "self": f"/v2/images/{image.id}",
        "file": f"/v2/images/{image.id}/file",
        "schema": "/v2/schemas/image",
    }
    return body


def _no_image(image_id: str) -> CloudError:
    return CloudError("glance", 404, f"No image found with ID {image_id}")


async def _visible(cloud: FakeCloud, caller: Any, image_id: str) -> Image:
    image = await find_image(cloud, image_id)
    if image is None or not can_see(caller, image):
        raise _no_image(image_id)
    return image


@router.get("/v2/images")
async def list_images(request: Request, cloud: CloudDep, caller: CallerDep) -> dict[str, Any]:
    params = request.query_params
    images = [i for i in await all_images(cloud) if can_see(caller, i)]
    for key in ("name", "status", "visibility", "owner", "disk_format", "container_format"):
        wanted = params.get(key)
        if wanted is not None and not (key == "visibility" and wanted == "all"):
            images = [i for i in images if getattr(i, key) == wanted]
    for tag in params.getlist("tag"):
        images = [i for i in images if tag in i.tags]
    # Glance sorts by created_at descending, then id.
    images.sort(key=lambda i: (i.created_at, i.id), reverse=True)
    marker = params.get("marker")
    if marker:
        ids = [i.id for i in images]
        if marker not in ids:
            raise CloudError("glance", 400, f"Invalid marker. Image {marker} could not be found.")
        images = images[ids.index(marker) + 1 :]
    body: dict[str, Any] = {"first": "/v2/images", "schema": "/v2/schemas/images"}
    limit = params.get("limit")
    if limit and len(images) > int(limit):
        images = images[: int(limit)]
        body["next"] = f"/v2/images?marker={images[-1].id}&limit={limit}"
    body["images"] = [image_body(i) for i in images]
    return body


@router.get("/v2/images/{image_id}")
async def get_image(image_id: str, cloud: CloudDep, caller: CallerDep) -> dict[str, Any]:
    return image_body(await _visible(cloud, caller, image_id))


def _check_fields(data: dict[str, Any]) -> None:
    """Glance's schema checks on create (glance/api/v2/images.py): 400 for a wrong type."""
    for key in ("name", "disk_format", "container_format"):
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise CloudError("glance", 400, f"Provided object does not match schema: {key}")
    for key in ("min_disk", "min_ram"):
        value = data.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise CloudError("glance", 400, f"Provided object does not match schema: {key}")
    if "id" in data:
        try:
            uuid.UUID(str(data["id"]))
        except ValueError:
            raise CloudError("glance", 400, "Provided object does not match schema: id") from None
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise CloudError("glance", 400, "Provided object does not match schema: tags")


@router.post("/v2/images", status_code=201)
async def create_image(request: Request, cloud: CloudDep, caller: WriterDep) -> JSONResponse:
    """An image record in `queued`, its data to come (PUT .../file)."""
    data = await request.json()
    if not isinstance(data, dict):
        raise CloudError("glance", 400, "Body expected in request.")
    _check_fields(data)
    image_id = str(data.get("id") or uuid.uuid4())
    visibility = str(data.get("visibility", "shared"))
    if visibility not in ("public", "private", "shared", "community"):
        raise CloudError("glance", 400, f"Invalid visibility value: {visibility}")
    if visibility == "public" and not caller.is_admin:
        raise CloudError(
            "glance", 403, "You are not authorized to complete publicize_image action."
        )
    now = datetime.now(UTC)
    extra = {k: v for k, v in data.items() if k not in (*_WRITABLE, "tags", "protected", "id")}
    bad = sorted(set(extra) & _READ_ONLY)
    if bad:
        raise CloudError("glance", 403, f"Attribute '{bad[0]}' is read-only.")
    row = SimImageRecord(
        id=image_id,
        name=data.get("name"),
        owner=caller.project_id,
        visibility=visibility,
        status="queued",
        snapshot=False,
        deleted=False,
        protected=bool(data.get("protected", False)),
        disk_format=data.get("disk_format"),
        container_format=data.get("container_format"),
        min_disk=int(data.get("min_disk", 0)),
        min_ram=int(data.get("min_ram", 0)),
        size=None,
        tags=list(data.get("tags", [])),
        properties={str(k): v for k, v in extra.items()},
        created_at=now,
        updated_at=now,
    )

    async def work(session: AsyncSession) -> None:
        if is_built_in(image_id) or await session.get(SimImageRecord, image_id) is not None:
            raise CloudError("glance", 409, f"Image with identifier {image_id} already exists!")
        session.add(row)

    await cloud.sim.store.run(work, write=True)
    image = await find_image(cloud, image_id)
    assert image is not None
    return JSONResponse(
        image_body(image),
        status_code=201,
        headers={"Location": f"{base_url(request)}/image/v2/images/{image_id}"},
    )


async def _changeable(cloud: FakeCloud, caller: Any, image_id: str) -> Image:
    """An image the caller may change (403 when it may only see it)."""
    image = await _visible(cloud, caller, image_id)
    if not caller.is_admin and image.owner != caller.project_id:
        raise CloudError("glance", 403, "You are not permitted to modify this image.")
    return image


async def _record_of(session: AsyncSession, image: Image) -> SimImageRecord:
    """The image's record, made as a copy of a built-in image on its first change (read
    outside this transaction: the store does not nest them)."""
    row = await session.get(SimImageRecord, image.id, with_for_update=True)
    if row is None:  # a built-in image: the record starts as a copy of it
        now = datetime.now(UTC)
        row = SimImageRecord(
            id=image.id,
            name=image.name,
            owner=image.owner,
            visibility=image.visibility,
            status=image.status,
            snapshot=False,
            deleted=False,
            protected=image.protected,
            disk_format=image.disk_format,
            container_format=image.container_format,
            min_disk=image.min_disk,
            min_ram=image.min_ram,
            size=image.size,
            tags=list(image.tags),
            properties=dict(image.properties),
            created_at=image.created_at,
            updated_at=now,
        )
        session.add(row)
    return row


def _apply_patch(row: SimImageRecord, ops: list[dict[str, Any]]) -> None:
    """JSON-patch (application/openstack-images-v2.1-json-patch) on top-level attributes."""
    properties = dict(row.properties)
    for op in ops:
        kind, path = op.get("op"), str(op.get("path", "")).lstrip("/")
        if kind not in ("add", "replace", "remove") or not path or "/" in path:
            raise CloudError("glance", 400, f"Unable to change {path or 'the image'}.")
        if path in _READ_ONLY:
            raise CloudError("glance", 403, f"Attribute '{path}' is read-only.")
        value = op.get("value")
        if path in _WRITABLE or path in ("tags", "protected"):
            if kind == "remove":
                raise CloudError("glance", 403, f"Attribute '{path}' is reserved.")
            if path in ("min_disk", "min_ram"):
                value = int(value)  # type: ignore[arg-type]
            setattr(row, path, value)
        elif kind == "remove":
            if path not in properties:
                raise CloudError("glance", 409, f"Property {path} does not exist.")
            properties.pop(path)
        else:
            properties[path] = value
    row.properties = properties
    row.updated_at = datetime.now(UTC)


@router.patch("/v2/images/{image_id}")
async def update_image(
    image_id: str, request: Request, cloud: CloudDep, caller: WriterDep
) -> dict[str, Any]:
    ops = await request.json()
    if not isinstance(ops, list):
        raise CloudError("glance", 400, "Request body must be a JSON array of operation objects.")

    image = await _changeable(cloud, caller, image_id)

    async def work(session: AsyncSession) -> None:
        _apply_patch(await _record_of(session, image), ops)

    await cloud.sim.store.run(work, write=True)
    return image_body(await _visible(cloud, caller, image_id))


@router.put("/v2/images/{image_id}/file", status_code=204)
async def upload_image(
    image_id: str, request: Request, cloud: CloudDep, caller: WriterDep
) -> Response:
    """The data is counted, not kept: the image becomes active with that size."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)

    image = await _changeable(cloud, caller, image_id)

    async def work(session: AsyncSession) -> None:
        row = await _record_of(session, image)
        if row.snapshot or row.status != "queued":
            raise CloudError(
                "glance", 409, f"Image status transition from {row.status} to saving is not allowed"
            )
        row.status, row.size, row.updated_at = "active", size, datetime.now(UTC)

    await cloud.sim.store.run(work, write=True)
    return Response(status_code=204)


@router.delete("/v2/images/{image_id}", status_code=204)
async def delete_image(image_id: str, cloud: CloudDep, caller: WriterDep) -> Response:
    image = await _visible(cloud, caller, image_id)
    if not caller.is_admin and image.owner != caller.project_id:
        raise CloudError("glance", 403, "You are not permitted to delete this image.")
    if image.protected:
        raise CloudError("glance", 403, f"Image {image_id} is protected and cannot be deleted.")

    async def work(session: AsyncSession) -> bool:
        row = await _record_of(session, image)
        snapshot = row.snapshot
        row.deleted, row.status = True, "deleted"
        return snapshot

    if await cloud.sim.store.run(work, write=True):
        await cloud.sim.image.delete_image(image_id)
    return Response(status_code=204)


def snapshot_record(
    image_id: str, name: str, owner: str, properties: dict[str, Any]
) -> SimImageRecord:
    """What Nova's createImage registers in Glance: a private snapshot image."""
    now = datetime.now(UTC)
    return SimImageRecord(
        id=image_id,
        name=name,
        owner=owner,
        visibility="private",
        status="queued",
        snapshot=True,
        deleted=False,
        protected=False,
        disk_format="qcow2",
        container_format="bare",
        min_disk=0,
        min_ram=0,
        size=None,
        tags=[],
        properties={"image_type": "snapshot", **properties},
        created_at=now,
        updated_at=now,
    )

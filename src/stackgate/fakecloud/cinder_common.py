"""What every route of the fake Cinder shares: microversion negotiation, the route class that
echoes it, and the volume and snapshot bodies as Cinder's views build them."""

from __future__ import annotations

import ast
import json
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from stackgate.fakecloud.auth import Caller
from stackgate.fakecloud.errors import CloudError
from stackgate.providers.simulator.tables import SimCinderRecord, SimSnapshot, SimVolume
from stackgate.providers.simulator.volumes import volume_dto

SERVICE = "cinder"
# cinder/api/openstack/api_version_request.py _MIN_API_VERSION / _MAX_API_VERSION.
MIN_VERSION = (3, 0)
MAX_VERSION = (3, 71)
AVAILABILITY_ZONE = "nova"
_HEADER = "OpenStack-API-Version"


def _text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def requested_version(request: Request) -> tuple[int, int]:
    """The microversion a request asks for (`OpenStack-API-Version: volume 3.x`; none: 3.0,
    `latest`: 3.71); outside the range: 406, as cinder/api/openstack/wsgi.py answers."""
    header = request.headers.get(_HEADER, "")
    wanted = None
    for item in header.split(","):
        parts = item.strip().split()
        if len(parts) == 2 and parts[0].lower() == "volume":
            wanted = parts[1]
    if wanted is None:
        return MIN_VERSION
    if wanted.lower() == "latest":
        return MAX_VERSION
    try:
        major, minor = (int(p) for p in wanted.split("."))
    except ValueError:
        raise CloudError(
            SERVICE,
            400,
            f"API Version String {wanted} is of invalid format. Must be of format "
            "MajorNum.MinorNum.",
        ) from None
    if not MIN_VERSION <= (major, minor) <= MAX_VERSION:
        raise CloudError(
            SERVICE,
            406,
            f"Version {wanted} is not supported by the API. Minimum is {_text(MIN_VERSION)} "
            f"and maximum is {_text(MAX_VERSION)}.",
        )
    return major, minor


class CinderRoute(APIRoute):
    """Every answer names the microversion it was built for, as Cinder's wsgi.Resource does."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            version = requested_version(request)
            request.state.volume_version = version
            response = await handler(request)
            response.headers[_HEADER] = f"volume {_text(version)}"
            response.headers["Vary"] = _HEADER
            return response

        return route


def version_of(request: Request) -> tuple[int, int]:
    version: tuple[int, int] = getattr(request.state, "volume_version", MIN_VERSION)
    return version


def timestamp(moment: datetime | None) -> str | None:
    """Cinder's timestamps: ISO 8601 with microseconds, no zone (UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def links(root: str, project_id: str, collection: str, item_id: str) -> list[dict[str, str]]:
    return [
        {"href": f"{root}/volume/v3/{project_id}/{collection}/{item_id}", "rel": "self"},
        {"href": f"{root}/volume/{project_id}/{collection}/{item_id}", "rel": "bookmark"},
    ]


def attachment_id(volume_id: str, server_id: str) -> str:
    """A stable id for the one attachment the simulator keeps per volume."""
    return str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"stackgate-fakecloud:attachment/{volume_id}/{server_id}")
    )


def volume_body(
    volume: SimVolume,
    record: SimCinderRecord | None,
    *,
    root: str,
    caller: Caller,
    version: tuple[int, int],
    type_id: str | None,
    image_name: str | None = None,
) -> dict[str, Any]:
    """cinder/api/v3/views/volumes.py detail(), with the tenant and image-metadata extensions."""
    attachments = [
        {
            "id": volume.id,
            "attachment_id": attachment_id(volume.id, a.server_id),
            "volume_id": volume.id,
            "server_id": a.server_id,
            "host_name": None,
            "device": a.device,
            "attached_at": timestamp(record.updated_at if record else volume.created_at),
        }
        for a in volume_dto(volume).attachments
    ]
    body: dict[str, Any] = {
        "id": volume.id,
        "status": volume.status,
        "size": volume.size_gb,
        "availability_zone": AVAILABILITY_ZONE,
        "created_at": timestamp(volume.created_at),
        "updated_at": timestamp(record.updated_at if record else None),
        "name": volume.name,
        "description": volume.description,
        "volume_type": volume.volume_type,
        "snapshot_id": None,
        "source_volid": None,
        "metadata": dict(volume.meta),
        "links": links(root, volume.project_id, "volumes", volume.id),
        "user_id": record.user_id if record else None,
        "bootable": "true" if volume.bootable else "false",
        "encrypted": False,
        "replication_status": None,
        "consistencygroup_id": None,
        "multiattach": False,
        "attachments": attachments,
        "os-vol-tenant-attr:tenant_id": volume.project_id,
    }
    if volume.image_id is not None:
        image_meta = {"image_id": volume.image_id}
        if image_name is not None:
            image_meta["image_name"] = image_name
        body["volume_image_metadata"] = image_meta
    if caller.is_admin:
        body["migration_status"] = None
        body["os-vol-host-attr:host"] = "fakecloud@lvmdriver-1#lvmdriver-1"
    if version >= (3, 13):
        body["group_id"] = None
    if caller.is_admin and version >= (3, 21):
        body["provider_id"] = None
    if version >= (3, 48):
        body["shared_targets"] = False
        body["service_uuid"] = None
    if caller.is_admin and version >= (3, 61):
        body["cluster_name"] = None
    if version >= (3, 63):
        body["volume_type_id"] = type_id
    if version >= (3, 65):
        body["consumes_quota"] = True
    return body


def snapshot_body(
    snapshot: SimSnapshot,
    record: SimCinderRecord | None,
    *,
    project_id: str,
    version: tuple[int, int],
) -> dict[str, Any]:
    """cinder/api/v3/views/snapshots.py detail(), with extended_snapshot_attributes."""
    body: dict[str, Any] = {
        "id": snapshot.id,
        "created_at": timestamp(snapshot.created_at),
        "updated_at": timestamp(record.updated_at if record else None),
        "name": snapshot.name,
        "description": record.description if record else None,
        "volume_id": snapshot.volume_id,
        "status": snapshot.status,
        "size": snapshot.size_gb,
        "metadata": dict(snapshot.meta),
        "os-extended-snapshot-attributes:project_id": project_id,
        "os-extended-snapshot-attributes:progress": "100%"
        if snapshot.status == "available"
        else "0%",
    }
    if version >= (3, 14):
        body["group_snapshot_id"] = None
    if version >= (3, 41):
        body["user_id"] = record.user_id if record else None
    if version >= (3, 65):
        body["consumes_quota"] = True
    return body


def metadata_filter(raw: str | None) -> dict[str, str]:
    """Cinder takes `metadata` as a stringified dict (python-openstackclient sends str(dict),
    cinder/api/v3/volumes.py reads it with ast.literal_eval); JSON is accepted too."""
    if not raw:
        return {}
    try:
        parsed = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
    if not isinstance(parsed, dict):
        raise CloudError(SERVICE, 400, f"Invalid input received: Invalid metadata filter: {raw}")
    return {str(k): str(v) for k, v in parsed.items()}


def truthy(raw: str | None) -> bool:
    """oslo_utils.strutils.bool_from_string, as Cinder reads all_tenants, force, cascade."""
    return (raw or "").strip().lower() in ("1", "t", "true", "on", "y", "yes")


def paginate(
    items: list[Any], key: Callable[[Any], str], *, limit: str | None, marker: str | None
) -> tuple[list[Any], bool]:
    """Cinder's marker/limit paging (cinder/api/common.py): the page after `marker`, and
    whether a next link is due (a full page)."""
    if marker:
        ids = [key(i) for i in items]
        if marker not in ids:
            raise CloudError(SERVICE, 404, f"Marker {marker} could not be found.")
        items = items[ids.index(marker) + 1 :]
    size = 1000  # osapi_max_limit
    if limit is not None:
        try:
            size = min(int(limit), size)
        except ValueError:
            raise CloudError(SERVICE, 400, "limit param must be an integer") from None
        if size < 0:
            raise CloudError(SERVICE, 400, "limit param must be positive")
    page = items[:size]
    return page, len(page) == size and len(items) > 0 and size > 0

"""Neutron's tag API on every tagged collection (neutron/extensions/tagging.py):
`GET|PUT|POST|DELETE /v2.0/{collection}/{id}/tags` and `GET|PUT|DELETE .../tags/{tag}`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import JSONResponse, Response

from stackgate.fakecloud.auth import Caller, CallerDep, CloudDep, WriterDep
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.neutron_common import (
    error,
    not_found,
    owns,
    policy_refused,
    read,
    tag_list,
    write,
)
from stackgate.providers.simulator.tables import (
    SimFloatingIP,
    SimNetwork,
    SimPort,
    SimSecurityGroup,
    SimSubnet,
)

router = APIRouter()

_TABLES: dict[str, tuple[Any, str]] = {
    "networks": (SimNetwork, "Network"),
    "subnets": (SimSubnet, "Subnet"),
    "ports": (SimPort, "Port"),
    "security-groups": (SimSecurityGroup, "Security group"),
    "floatingips": (SimFloatingIP, "Floating IP"),
}


def _table(collection: str) -> tuple[Any, str]:
    found = _TABLES.get(collection)
    if found is None:
        raise error(404, "The resource could not be found.", "HTTPNotFound")
    return found


async def _tags(cloud: FakeCloud, caller: Caller, collection: str, resource_id: str) -> list[str]:
    table, kind = _table(collection)

    async def work(session: AsyncSession) -> list[str] | None:
        row = await session.get(table, resource_id)
        if row is None:
            return None
        shared = bool(getattr(row, "shared", False) or getattr(row, "external", False))
        if not (shared or owns(caller, row.project_id)):
            return None
        return list(row.tags)

    tags = await read(cloud, work)
    if tags is None:
        raise not_found(kind, resource_id)
    return tags


async def _change(
    cloud: FakeCloud, caller: Caller, collection: str, resource_id: str, change: Any
) -> list[str]:
    """Apply `change(current) -> new` to the tags the caller owns."""
    table, kind = _table(collection)

    async def work(session: AsyncSession) -> list[str] | str:
        row = await session.get(table, resource_id, with_for_update=True)
        if row is None:
            return "missing"
        if not owns(caller, row.project_id):
            shared = getattr(row, "shared", False) or getattr(row, "external", False)
            return "forbidden" if shared else "missing"
        row.tags = list(dict.fromkeys(change(list(row.tags))))
        return list(row.tags)

    result = await write(cloud, work)
    if result == "missing":
        raise not_found(kind, resource_id)
    if result == "forbidden":
        raise policy_refused(f"update_{collection.rstrip('s').replace('-', '_')}_tags")
    assert isinstance(result, list)
    return result


@router.get("/v2.0/{collection}/{resource_id}/tags")
async def get_tags(
    collection: str, resource_id: str, caller: CallerDep, cloud: CloudDep
) -> dict[str, Any]:
    return {"tags": await _tags(cloud, caller, collection, resource_id)}


@router.put("/v2.0/{collection}/{resource_id}/tags")
async def replace_tags(
    collection: str, resource_id: str, caller: WriterDep, cloud: CloudDep, body: Any = Body(...)
) -> dict[str, Any]:
    new = list(tag_list(body if isinstance(body, dict) else {}))
    return {"tags": await _change(cloud, caller, collection, resource_id, lambda _: new)}


@router.post("/v2.0/{collection}/{resource_id}/tags", status_code=201)
async def add_tags(
    collection: str, resource_id: str, caller: WriterDep, cloud: CloudDep, body: Any = Body(...)
) -> JSONResponse:
    new = list(tag_list(body if isinstance(body, dict) else {}))
    tags = await _change(cloud, caller, collection, resource_id, lambda cur: cur + new)
    return JSONResponse({"tags": tags}, status_code=201)


@router.delete("/v2.0/{collection}/{resource_id}/tags", status_code=204)
async def delete_tags(
    collection: str, resource_id: str, caller: WriterDep, cloud: CloudDep
) -> Response:
    await _change(cloud, caller, collection, resource_id, lambda _: [])
    return Response(status_code=204)


@router.get("/v2.0/{collection}/{resource_id}/tags/{tag}", status_code=204)
async def check_tag(
    collection: str, resource_id: str, tag: str, caller: CallerDep, cloud: CloudDep
) -> Response:
    if tag not in await _tags(cloud, caller, collection, resource_id):
        raise error(404, f"Tag {tag} could not be found.", "TagNotFound")
    return Response(status_code=204)


@router.put("/v2.0/{collection}/{resource_id}/tags/{tag}", status_code=201)
async def add_tag(
    collection: str, resource_id: str, tag: str, caller: WriterDep, cloud: CloudDep
) -> Response:
    await _change(cloud, caller, collection, resource_id, lambda cur: [*cur, tag])
    return Response(status_code=201)


@router.delete("/v2.0/{collection}/{resource_id}/tags/{tag}", status_code=204)
async def remove_tag(
    collection: str, resource_id: str, tag: str, caller: WriterDep, cloud: CloudDep
) -> Response:
    if tag not in await _tags(cloud, caller, collection, resource_id):
        raise error(404, f"Tag {tag} could not be found.", "TagNotFound")
    await _change(cloud, caller, collection, resource_id, lambda cur: [t for t in cur if t != tag])
    return Response(status_code=204)

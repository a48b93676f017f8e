"""Nova flavors: DevStack's m1.* catalog (with the ids StackGate seeds) plus flavors an admin
makes; bodies follow nova/api/openstack/compute/views/flavors.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.ids import stable_id
from stackgate.fakecloud.auth import AdminDep, CallerDep, CloudDep, base_url
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.errors import CloudError
from stackgate.fakecloud.nova_common import NovaRoute, links, microversion, not_found
from stackgate.providers.base import FlavorSpec
from stackgate.providers.simulator.tables import SimFlavor

router = APIRouter(route_class=NovaRoute)

# DevStack's flavors, the same as migrations/versions/2026-11-22_initial.py FLAVORS.
_BUILT_IN = (
    ("m1.tiny", 1, 512, 5),
    ("m1.small", 1, 2048, 20),
    ("m1.medium", 2, 4096, 40),
    ("m1.large", 4, 8192, 80),
    ("m1.xlarge", 8, 16384, 160),
)


@dataclass(frozen=True, slots=True)
class Flavor:
    id: str
    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int
    ephemeral_gb: int = 0
    swap_mb: int = 0
    is_public: bool = True
    description: str | None = None

    def spec(self) -> FlavorSpec:
        return FlavorSpec(
            name=self.name, vcpus=self.vcpus, ram_mb=self.ram_mb, disk_gb=self.disk_gb, id=self.id
        )


BUILT_IN = tuple(Flavor(stable_id(f"flavor/{n}"), n, c, r, d) for n, c, r, d in _BUILT_IN)


def _of(row: SimFlavor) -> Flavor:
    return Flavor(
        row.id,
        row.name,
        row.vcpus,
        row.ram_mb,
        row.disk_gb,
        row.ephemeral_gb,
        row.swap_mb,
        row.is_public,
        row.description,
    )


async def all_flavors(session: AsyncSession) -> list[Flavor]:
    rows = {r.id: r for r in (await session.scalars(select(SimFlavor))).all()}
    flavors = [f for f in BUILT_IN if f.id not in rows]
    flavors += [_of(r) for r in rows.values() if not r.deleted]
    # Nova lists by flavorid's internal id order; the DevStack ones first, then by name.
    return flavors


async def find_flavor(cloud: FakeCloud, flavor_id: str) -> Flavor | None:
    async def work(session: AsyncSession) -> Flavor | None:
        return next((f for f in await all_flavors(session) if f.id == flavor_id), None)

    return await cloud.sim.store.run(work)


def flavor_body(request: Request, flavor: Flavor, *, detail: bool = True) -> dict[str, Any]:
    version = microversion(request)
    body: dict[str, Any] = {
        "id": flavor.id,
        "name": flavor.name,
        "links": links(base_url(request), "flavors", flavor.id),
    }
    if version >= (2, 55):
        body["description"] = flavor.description
    if not detail:
        return body
    body.update(
        {
            "ram": flavor.ram_mb,
            "disk": flavor.disk_gb,
            "vcpus": flavor.vcpus,
            # Before 2.75 Nova shows a swap of 0 as "".
            "swap": flavor.swap_mb if flavor.swap_mb or version >= (2, 75) else "",
            "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
            "OS-FLV-DISABLED:disabled": False,
            "os-flavor-access:is_public": flavor.is_public,
            "rxtx_factor": 1.0,
        }
    )
    if version >= (2, 61):
        body["extra_specs"] = {}
    return body


def _filtered(flavors: list[Flavor], request: Request) -> list[Flavor]:
    params = request.query_params
    if params.get("minRam"):
        flavors = [f for f in flavors if f.ram_mb >= int(params["minRam"])]
    if params.get("minDisk"):
        flavors = [f for f in flavors if f.disk_gb >= int(params["minDisk"])]
    marker = params.get("marker")
    if marker:
        ids = [f.id for f in flavors]
        if marker not in ids:
            raise CloudError("nova", 400, f"marker [{marker}] not found")
        flavors = flavors[ids.index(marker) + 1 :]
    if params.get("limit"):
        flavors = flavors[: int(params["limit"])]
    return flavors


async def _listing(cloud: FakeCloud) -> list[Flavor]:
    return await cloud.sim.store.run(all_flavors)


@router.get("/v2.1/flavors")
async def list_flavors(request: Request, cloud: CloudDep, caller: CallerDep) -> dict[str, Any]:
    flavors = _filtered(await _listing(cloud), request)
    return {"flavors": [flavor_body(request, f, detail=False) for f in flavors]}


@router.get("/v2.1/flavors/detail")
async def list_flavors_detail(
    request: Request, cloud: CloudDep, caller: CallerDep
) -> dict[str, Any]:
    flavors = _filtered(await _listing(cloud), request)
    return {"flavors": [flavor_body(request, f) for f in flavors]}


@router.get("/v2.1/flavors/{flavor_id}")
async def get_flavor(
    flavor_id: str, request: Request, cloud: CloudDep, caller: CallerDep
) -> dict[str, Any]:
    flavor = await find_flavor(cloud, flavor_id)
    if flavor is None:
        raise not_found(f"Flavor {flavor_id} could not be found.")
    return {"flavor": flavor_body(request, flavor)}


@router.get("/v2.1/flavors/{flavor_id}/os-extra_specs")
async def flavor_extra_specs(flavor_id: str, cloud: CloudDep, caller: CallerDep) -> dict[str, Any]:
    if await find_flavor(cloud, flavor_id) is None:
        raise not_found(f"Flavor {flavor_id} could not be found.")
    return {"extra_specs": {}}


def _int(data: dict[str, Any], key: str, default: int | None = None) -> int:
    value = data.get(key, default)
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CloudError("nova", 400, f"Invalid input for field/attribute {key}.") from None
    if number < 0:
        raise CloudError("nova", 400, f"Invalid input for field/attribute {key}.")
    return number


@router.post("/v2.1/flavors")
async def create_flavor(
    request: Request, cloud: CloudDep, caller: AdminDep, body: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    """Admin only; 200 with the flavor (nova/api/openstack/compute/flavor_manage.py)."""
    data = body.get("flavor")
    if not isinstance(data, dict) or not data.get("name"):
        raise CloudError("nova", 400, "Invalid input for field/attribute flavor.")
    name = str(data["name"]).strip()
    flavor_id = str(data.get("id") or stable_id(f"flavor/{name}"))
    flavor = Flavor(
        id=flavor_id,
        name=name,
        vcpus=_int(data, "vcpus"),
        ram_mb=_int(data, "ram"),
        disk_gb=_int(data, "disk"),
        ephemeral_gb=_int(data, "OS-FLV-EXT-DATA:ephemeral", 0),
        swap_mb=_int(data, "swap", 0) if data.get("swap") != "" else 0,
        is_public=bool(data.get("os-flavor-access:is_public", True)),
        description=data.get("description"),
    )
    if flavor.vcpus < 1 or flavor.ram_mb < 1:
        raise CloudError("nova", 400, "Invalid input for field/attribute vcpus or ram.")

    async def work(session: AsyncSession) -> None:
        for known in await all_flavors(session):
            if known.name == flavor.name:
                raise CloudError("nova", 409, f"Flavor with name {flavor.name} already exists.")
            if known.id == flavor.id:
                raise CloudError("nova", 409, f"Flavor with ID {flavor.id} already exists.")
        row = await session.get(SimFlavor, flavor.id)
        if row is not None:
            await session.delete(row)  # the tombstone of a deleted flavor with this id
            await session.flush()
        session.add(
            SimFlavor(
                id=flavor.id,
                name=flavor.name,
                vcpus=flavor.vcpus,
                ram_mb=flavor.ram_mb,
                disk_gb=flavor.disk_gb,
                ephemeral_gb=flavor.ephemeral_gb,
                swap_mb=flavor.swap_mb,
                is_public=flavor.is_public,
                description=flavor.description,
                deleted=False,
                created_at=datetime.now(UTC),
            )
        )

    await cloud.sim.store.run(work, write=True)
    return {"flavor": flavor_body(request, flavor)}


@router.delete("/v2.1/flavors/{flavor_id}", status_code=202)
async def delete_flavor(flavor_id: str, cloud: CloudDep, caller: AdminDep) -> Response:
    async def work(session: AsyncSession) -> None:
        found = next((f for f in await all_flavors(session) if f.id == flavor_id), None)
        if found is None:
            raise not_found(f"Flavor {flavor_id} could not be found.")
        row = await session.get(SimFlavor, flavor_id)
        if row is None:
            row = SimFlavor(
                id=found.id,
                name=found.name,
                vcpus=found.vcpus,
                ram_mb=found.ram_mb,
                disk_gb=found.disk_gb,
                created_at=datetime.now(UTC),
            )
            session.add(row)
        row.deleted = True

    await cloud.sim.store.run(work, write=True)
    return Response(status_code=202)

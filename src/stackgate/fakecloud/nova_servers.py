"""Nova servers: create, list, show, update, delete over the simulated compute
(nova/api/openstack/compute/servers.py). Creates go through `sim.compute.create_server`, so
the simulator's placement, state rules and fault injection apply."""

from __future__ import annotations

import contextlib
import ipaddress
import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.fakecloud.auth import Caller, CallerDep, CloudDep, WriterDep, base_url
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.glance_images import can_see, find_image
from stackgate.fakecloud.nova_common import (
    NovaRoute,
    bad_request,
    links,
    microversion,
    ref_id,
)
from stackgate.fakecloud.nova_flavors import find_flavor
from stackgate.fakecloud.nova_log import record
from stackgate.fakecloud.nova_quotas import check as check_quota
from stackgate.fakecloud.nova_views import load, server_body, states
from stackgate.providers.base import ImageSpec, ProviderError, ProviderNotFound, ServerSpec
from stackgate.providers.network import FixedIP, PortSpec
from stackgate.providers.simulator.tables import SimServer, SimServerExtra, SimSubnet, SimVolume

router = APIRouter(route_class=NovaRoute)


async def image_spec(cloud: FakeCloud, caller: Caller, ref: str) -> ImageSpec:
    image = await find_image(cloud, ref)
    if image is None or not can_see(caller, image):
        raise bad_request(f"Image {ref} could not be found.")
    if image.status != "active":
        raise bad_request(f"Image {ref} is not active.")
    return image.spec()


def _boot_volume(data: dict[str, Any]) -> str | None:
    """The volume of block_device_mapping_v2's boot entry (boot_index 0, source volume)."""
    for bdm in data.get("block_device_mapping_v2") or []:
        if not isinstance(bdm, dict):
            raise bad_request("Invalid input for field/attribute block_device_mapping_v2.")
        if str(bdm.get("boot_index")) == "0" and bdm.get("source_type") == "volume":
            if not bdm.get("uuid"):
                raise bad_request("Block Device Mapping is Invalid: missing volume uuid.")
            return str(bdm["uuid"])
    return None


async def _volume_image(cloud: FakeCloud, caller: Caller, volume_id: str) -> ImageSpec:
    """The image a boot volume was made from (Nova reads its volume_image_metadata)."""

    async def work(session: AsyncSession) -> str | None:
        volume = await session.get(SimVolume, volume_id)
        return volume.image_id if volume is not None else None

    image_id = await cloud.sim.store.run(work)
    image = await find_image(cloud, image_id) if image_id else None
    return image.spec() if image is not None else ImageSpec(id="", name="")


def _networks(request: Request, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The requested networks as a list ("auto"/"none": no explicit port)."""
    networks = data.get("networks")
    if networks is None:
        if microversion(request) >= (2, 37):
            raise bad_request(
                "Invalid input for field/attribute server. Value: ... 'networks' is a required "
                "property"
            )
        return []
    if networks in ("auto", "none"):
        return []
    if not isinstance(networks, list) or not all(isinstance(n, dict) for n in networks):
        raise bad_request("Invalid input for field/attribute networks.")
    return networks


async def _subnet_of(cloud: FakeCloud, network_id: str, address: str) -> str:
    async def work(session: AsyncSession) -> list[SimSubnet]:
        stmt = select(SimSubnet).where(SimSubnet.network_id == network_id)
        return list((await session.scalars(stmt)).all())

    for subnet in await cloud.sim.store.run(work):
        if ipaddress.ip_address(address) in ipaddress.ip_network(subnet.cidr):
            return subnet.id
    raise bad_request(f"Fixed IP address {address} is invalid for network {network_id}.")


async def _ports(
    cloud: FakeCloud, caller: Caller, networks: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """Port ids to boot with, and those of them made here (Nova makes a port per network)."""
    port_ids: list[str] = []
    made: list[str] = []
    try:
        for net in networks:
            if net.get("port"):
                port_ids.append(str(net["port"]))
                continue
            network_id = net.get("uuid")
            if not network_id:
                raise bad_request("Invalid input for field/attribute networks.")
            fixed: tuple[FixedIP, ...] = ()
            if net.get("fixed_ip"):
                address = str(net["fixed_ip"])
                fixed = (FixedIP(await _subnet_of(cloud, network_id, address), address),)
            try:
                port = await cloud.sim.network.create_port(
                    PortSpec(
                        network_id=str(network_id),
                        project_id=caller.project_id or "",
                        fixed_ips=fixed,
                    )
                )
            except ProviderNotFound:
                raise bad_request(f"Network {network_id} could not be found.") from None
            made.append(port.id)
            port_ids.append(port.id)
    except Exception:
        await _drop_ports(cloud, made)
        raise
    return port_ids, made


async def _drop_ports(cloud: FakeCloud, port_ids: list[str]) -> None:
    for port_id in port_ids:
        # Best effort: the refusal being reported matters more than a leftover port.
        with contextlib.suppress(ProviderError):
            await cloud.sim.network.delete_port(port_id)


@router.post("/v2.1/servers", status_code=202)
async def create_server(
    request: Request, cloud: CloudDep, caller: WriterDep, body: dict[str, Any] = Body(...)
) -> JSONResponse:
    data = body.get("server")
    if not isinstance(data, dict):
        raise bad_request("Invalid input for field/attribute server.")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("Invalid input for field/attribute name.")
    if not data.get("flavorRef"):
        raise bad_request("Invalid input for field/attribute flavorRef.")
    flavor = await find_flavor(cloud, ref_id(data["flavorRef"]))
    if flavor is None:
        raise bad_request("Invalid flavorRef provided.")
    boot_volume = _boot_volume(data)
    image_ref = ref_id(data["imageRef"]) if data.get("imageRef") else None
    if image_ref is not None:
        image = await image_spec(cloud, caller, image_ref)
    elif boot_volume is not None:
        image = await _volume_image(cloud, caller, boot_volume)
    else:
        raise bad_request("Missing imageRef attribute")
    networks = _networks(request, data)
    project_id = caller.project_id or ""
    await check_quota(
        cloud, project_id, {"instances": 1, "cores": flavor.vcpus, "ram": flavor.ram_mb}
    )
    tags = data.get("tags") or []
    metadata = data.get("metadata") or {}
    if not isinstance(tags, list) or not isinstance(metadata, dict):
        raise bad_request("Invalid input for field/attribute tags or metadata.")
    port_ids, made = await _ports(cloud, caller, networks)
    spec = ServerSpec(
        name=name,
        flavor=flavor.spec(),
        image=image,
        project_id=project_id,
        tags=tuple(str(t) for t in tags),
        metadata={str(k): str(v) for k, v in metadata.items()},
        key_name=data.get("key_name"),
        user_data=data.get("user_data"),
        port_ids=tuple(port_ids),
        boot_volume_id=boot_volume,
    )
    try:
        server = await cloud.sim.compute.create_server(spec)
    except Exception:
        await _drop_ports(cloud, made)
        raise
    groups = [str(g.get("name")) for g in data.get("security_groups") or [] if isinstance(g, dict)]

    async def keep(session: AsyncSession) -> None:
        session.add(
            SimServerExtra(
                server_id=server.id,
                user_id=caller.user_id,
                key_name=data.get("key_name"),
                security_groups=groups,
                image_given=image_ref is not None,
                locked_reason=None,
                description=data.get("description"),
                created_port_ids=made,
                updated_at=datetime.now(UTC),
            )
        )

    await cloud.sim.store.run(keep, write=True)
    await record(cloud, request, caller, server.id, "create")
    root = base_url(request)
    answer = {
        "id": server.id,
        "links": links(root, "servers", server.id),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": g} for g in groups or ["default"]],
        "adminPass": data.get("adminPass") or "sim-" + server.id[:12],
    }
    return JSONResponse(
        {"server": answer},
        status_code=202,
        headers={"Location": f"{root}/compute/v2.1/servers/{server.id}"},
    )


def _matches(
    request: Request, caller: Caller, body: dict[str, Any], server_tags: tuple[str, ...]
) -> bool:
    params = request.query_params
    name = params.get("name")
    if name and re.search(name, body["name"]) is None:
        return False
    status = params.get("status")
    if status and body["status"] != status.upper():
        return False
    tags = set(server_tags)
    if params.get("tags") and not set(params["tags"].split(",")) <= tags:
        return False
    if params.get("tags-any") and not set(params["tags-any"].split(",")) & tags:
        return False
    if params.get("not-tags") and set(params["not-tags"].split(",")) <= tags:
        return False
    project = params.get("project_id") or params.get("tenant_id")
    if project and caller.is_admin and body["tenant_id"] != project:
        return False
    ip = params.get("ip")
    if ip:
        shown = [a["addr"] for addrs in body["addresses"].values() for a in addrs]
        if not any(re.search(ip, a) for a in shown):
            return False
    return True


async def _listing(request: Request, cloud: FakeCloud, caller: Caller) -> list[dict[str, Any]]:
    params = request.query_params
    everyone = caller.is_admin and params.get("all_tenants", "0").lower() not in ("0", "false")
    found = await states(cloud, await cloud.sim.compute.servers())
    shown = [s for s in found if everyone or s.row.project_id == caller.project_id]
    # Newest first, as Nova sorts by created_at desc by default.
    shown.sort(key=lambda s: (s.row.created_at, s.row.id), reverse=True)
    bodies = [
        body
        for state, body in ((s, server_body(request, caller, s)) for s in shown)
        if _matches(request, caller, body, state.dto.tags)
    ]
    marker = params.get("marker")
    if marker:
        ids = [b["id"] for b in bodies]
        if marker not in ids:
            raise bad_request(f"marker [{marker}] not found")
        bodies = bodies[ids.index(marker) + 1 :]
    if params.get("limit"):
        bodies = bodies[: int(params["limit"])]
    return bodies


def _page_links(request: Request, bodies: list[dict[str, Any]], path: str) -> dict[str, Any]:
    limit = request.query_params.get("limit")
    if not limit or len(bodies) < int(limit) or not bodies:
        return {}
    href = f"{base_url(request)}/compute/v2.1/{path}?limit={limit}&marker={bodies[-1]['id']}"
    return {"servers_links": [{"rel": "next", "href": href}]}


@router.get("/v2.1/servers")
async def list_servers(request: Request, cloud: CloudDep, caller: CallerDep) -> dict[str, Any]:
    bodies = await _listing(request, cloud, caller)
    servers = [{"id": b["id"], "name": b["name"], "links": b["links"]} for b in bodies]
    return {"servers": servers, **_page_links(request, bodies, "servers")}


@router.get("/v2.1/servers/detail")
async def list_servers_detail(
    request: Request, cloud: CloudDep, caller: CallerDep
) -> dict[str, Any]:
    bodies = await _listing(request, cloud, caller)
    return {"servers": bodies, **_page_links(request, bodies, "servers/detail")}


@router.get("/v2.1/servers/{server_id}")
async def get_server(
    server_id: str, request: Request, cloud: CloudDep, caller: CallerDep
) -> dict[str, Any]:
    state = await load(cloud, caller, server_id)
    return {"server": server_body(request, caller, state)}


@router.put("/v2.1/servers/{server_id}")
async def update_server(
    server_id: str,
    request: Request,
    cloud: CloudDep,
    caller: WriterDep,
    body: dict[str, Any] = Body(...),
) -> dict[str, Any]:
    """Rename (and describe, 2.19); the simulated compute has no rename, so the row changes."""
    data = body.get("server")
    if not isinstance(data, dict):
        raise bad_request("Invalid input for field/attribute server.")
    state = await load(cloud, caller, server_id)

    async def work(session: AsyncSession) -> None:
        row = await session.get(SimServer, server_id, with_for_update=True)
        extra = await session.get(SimServerExtra, server_id, with_for_update=True)
        if row is not None and isinstance(data.get("name"), str):
            row.name = data["name"]
        if extra is not None:
            if "description" in data:
                extra.description = data["description"]
            extra.updated_at = datetime.now(UTC)

    await cloud.sim.store.run(work, write=True)
    state = await load(cloud, caller, state.dto.id)
    return {"server": server_body(request, caller, state)}


@router.delete("/v2.1/servers/{server_id}", status_code=204)
async def delete_server(
    server_id: str, request: Request, cloud: CloudDep, caller: WriterDep
) -> Response:
    await load(cloud, caller, server_id)
    await cloud.sim.compute.delete_server(server_id)
    await record(cloud, request, caller, server_id, "delete")
    return Response(status_code=204)

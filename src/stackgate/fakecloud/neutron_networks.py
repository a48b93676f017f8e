"""Networks and subnets of the fake Neutron (neutron/db/db_base_plugin_v2.py semantics)."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Body, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from stackgate.fakecloud.auth import Caller, CallerDep, CloudDep, WriterDep
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.neutron_common import (
    bad_request,
    before_read,
    fields_only,
    flag,
    not_found,
    optional_text,
    owner_for,
    owns,
    policy_refused,
    read,
    refusal,
    resource_body,
    select_items,
    sim_call,
    standard_attrs,
    tag_list,
    text,
    write,
)
from stackgate.fakecloud.neutron_quotas import enforce
from stackgate.providers.base import ProviderError
from stackgate.providers.network import NetworkSpec, SubnetSpec
from stackgate.providers.simulator import ipam
from stackgate.providers.simulator.tables import SimNetwork, SimSubnet

router = APIRouter()


def may_see_network(caller: Caller, row: SimNetwork) -> bool:
    """Own, shared, or external (Neutron's access_as_external RBAC): visible."""
    return owns(caller, row.project_id) or row.shared or row.external


def network_view(row: SimNetwork, subnet_ids: list[str], *, admin: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "status": row.status,
        "admin_state_up": True,
        "shared": row.shared,
        "router:external": row.external,
        "subnets": subnet_ids,
        "mtu": 1500 if row.external else 1450,
        "availability_zone_hints": [],
        "availability_zones": ["nova"],
        "ipv4_address_scope": None,
        "ipv6_address_scope": None,
        "port_security_enabled": True,
        "qos_policy_id": None,
        "l2_adjacency": True,
        "is_default": False,
        "dns_domain": "",
        **standard_attrs(row.project_id, row.created_at, row.tags),
    }
    if admin:
        # Provider attributes are admin-only (neutron/conf/policies/network.py).
        view["provider:network_type"] = "flat" if row.external else "vxlan"
        view["provider:physical_network"] = "public" if row.external else None
        view["provider:segmentation_id"] = None if row.external else 1000 + int(row.id[:4], 16)
    return view


def subnet_view(row: SimSubnet) -> dict[str, Any]:
    net = ipaddress.ip_network(row.cidr)
    return {
        "id": row.id,
        "name": row.name,
        "network_id": row.network_id,
        "ip_version": row.ip_version,
        "cidr": row.cidr,
        "gateway_ip": row.gateway_ip,
        "allocation_pools": [{"start": str(a), "end": str(b)} for a, b in row.pools],
        "enable_dhcp": row.enable_dhcp,
        "dns_nameservers": [],
        "host_routes": [],
        "ipv6_ra_mode": None,
        "ipv6_address_mode": None,
        "subnetpool_id": None,
        "segment_id": None,
        "service_types": [],
        "prefixlen": net.prefixlen,
        "dns_publish_fixed_ip": False,
        **standard_attrs(row.project_id, row.created_at, row.tags),
    }


async def _subnet_ids(session: AsyncSession) -> dict[str, list[str]]:
    stmt = select(SimSubnet.network_id, SimSubnet.id).order_by(SimSubnet.created_at, SimSubnet.id)
    found: dict[str, list[str]] = defaultdict(list)
    for network_id, subnet_id in (await session.execute(stmt)).all():
        found[network_id].append(subnet_id)
    return found


async def visible_network(cloud: FakeCloud, caller: Caller, network_id: str) -> SimNetwork:
    """The network if the caller may see it, else NetworkNotFound (404)."""

    async def work(session: AsyncSession) -> SimNetwork | None:
        return await session.get(SimNetwork, network_id)

    row = await read(cloud, work)
    if row is None or not may_see_network(caller, row):
        raise not_found("Network", network_id)
    return row


async def _network_json(cloud: FakeCloud, caller: Caller, network_id: str) -> dict[str, Any]:
    async def work(session: AsyncSession) -> dict[str, Any] | None:
        row = await session.get(SimNetwork, network_id)
        if row is None or not may_see_network(caller, row):
            return None
        ids = (await _subnet_ids(session)).get(row.id, [])
        return network_view(row, ids, admin=caller.is_admin)

    view = await read(cloud, work)
    if view is None:
        raise not_found("Network", network_id)
    return view


# --- networks -------------------------------------------------------------------------------


@router.post("/v2.0/networks", status_code=201)
async def create_network(
    request: Request, caller: WriterDep, cloud: CloudDep, body: Any = Body(...)
) -> dict[str, Any]:
    data = resource_body(body, "network")
    owner = owner_for(caller, data, "network")
    shared = flag(data, "shared", False)
    external = flag(data, "router:external", False)
    if shared and not caller.is_admin:
        raise policy_refused("create_network:shared")
    if external and not caller.is_admin:
        raise policy_refused("create_network:router:external")
    await enforce(request, cloud, owner, {"network": 1})
    spec = NetworkSpec(text(data, "name"), owner, shared, external, tag_list(data))
    made = await sim_call(cloud.sim.network.create_network(spec))
    return {"network": await _network_json(cloud, caller, made.id)}


@router.get("/v2.0/networks")
async def list_networks(request: Request, caller: CallerDep, cloud: CloudDep) -> dict[str, Any]:
    before_read(cloud, "networks")

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        stmt = select(SimNetwork).order_by(SimNetwork.created_at, SimNetwork.id)
        ids = await _subnet_ids(session)
        return [
            network_view(n, ids.get(n.id, []), admin=caller.is_admin)
            for n in (await session.scalars(stmt)).all()
            if may_see_network(caller, n)
        ]

    return {"networks": select_items(await read(cloud, work), request.query_params)}


@router.get("/v2.0/networks/{network_id}")
async def show_network(
    network_id: str, request: Request, caller: CallerDep, cloud: CloudDep
) -> dict[str, Any]:
    before_read(cloud, "get_network")
    view = await _network_json(cloud, caller, network_id)
    return {"network": select_items([view], fields_only(request))[0]}


@router.put("/v2.0/networks/{network_id}")
async def update_network(
    network_id: str, caller: WriterDep, cloud: CloudDep, body: Any = Body(...)
) -> dict[str, Any]:
    data = resource_body(body, "network")
    row = await visible_network(cloud, caller, network_id)
    if not owns(caller, row.project_id):
        raise policy_refused("update_network")
    for key in ("shared", "router:external"):
        if key in data and not caller.is_admin:
            raise policy_refused(f"update_network:{key}")

    async def work(session: AsyncSession) -> None:
        network = await session.get(SimNetwork, network_id, with_for_update=True)
        if network is None:
            raise not_found("Network", network_id)
        if "name" in data:
            network.name = text(data, "name")
        if "shared" in data:
            network.shared = flag(data, "shared", network.shared)
        if "router:external" in data:
            network.external = flag(data, "router:external", network.external)

    await write(cloud, work)
    return {"network": await _network_json(cloud, caller, network_id)}


@router.delete("/v2.0/networks/{network_id}", status_code=204)
async def delete_network(network_id: str, caller: WriterDep, cloud: CloudDep) -> Response:
    row = await visible_network(cloud, caller, network_id)
    if not owns(caller, row.project_id):
        raise policy_refused("delete_network")
    await sim_call(cloud.sim.network.delete_network(network_id))
    return Response(status_code=204)


# --- subnets --------------------------------------------------------------------------------


def _default_gateway(cidr: str) -> str:
    """Neutron's default gateway_ip: the first usable address of the CIDR."""
    try:
        net = ipam.parse_cidr(cidr)
    except ProviderError as exc:
        raise refusal(exc) from exc
    first, _ = ipam.usable_range(net)
    return str(ipaddress.ip_address(first))


def _pools(data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    raw = data.get("allocation_pools") or []
    if not isinstance(raw, list):
        raise bad_request("Invalid input for allocation_pools. Reason: Invalid data format.")
    pools = []
    for pool in raw:
        if not isinstance(pool, dict) or not {"start", "end"} <= set(pool):
            raise bad_request(
                f"Invalid input for allocation_pools. Reason: Invalid data format for IP pool: "
                f"'{pool}'."
            )
        pools.append((str(pool["start"]), str(pool["end"])))
    return tuple(pools)


def _may_see_subnet(caller: Caller, row: SimSubnet, network: SimNetwork | None) -> bool:
    return owns(caller, row.project_id) or (
        network is not None and may_see_network(caller, network)
    )


@router.post("/v2.0/subnets", status_code=201)
async def create_subnet(
    request: Request, caller: WriterDep, cloud: CloudDep, body: Any = Body(...)
) -> dict[str, Any]:
    data = resource_body(body, "subnet")
    network_id = optional_text(data, "network_id")
    if not network_id:
        raise bad_request("Failed to parse request. Required attribute 'network_id' not specified")
    if "ip_version" not in data:
        raise bad_request("Failed to parse request. Required attribute 'ip_version' not specified")
    cidr = optional_text(data, "cidr")
    if not cidr:
        raise bad_request(
            "Bad subnets request: a subnetpool must be specified in the absence of a cidr."
        )
    try:
        version = int(data["ip_version"])
    except (TypeError, ValueError) as exc:
        raise bad_request("Invalid input for ip_version.") from exc
    if version not in (4, 6):
        raise bad_request(f"Invalid input for ip_version. Reason: '{version}' is not in [4, 6].")
    owner = owner_for(caller, data, "subnet")
    network = await visible_network(cloud, caller, network_id)
    if not owns(caller, network.project_id):
        # create_subnet is rule:admin_or_network_owner.
        raise policy_refused("create_subnet")
    gateway = data["gateway_ip"] if "gateway_ip" in data else _default_gateway(cidr)
    await enforce(request, cloud, owner, {"subnet": 1})
    spec = SubnetSpec(
        network_id=network_id,
        name=text(data, "name"),
        cidr=cidr,
        project_id=owner,
        gateway_ip=gateway,
        allocation_pools=_pools(data),
        enable_dhcp=flag(data, "enable_dhcp", True),
        ip_version=version,
        tags=tag_list(data),
    )
    made = await sim_call(cloud.sim.network.create_subnet(spec))
    return {"subnet": await _subnet_json(cloud, caller, made.id)}


async def _subnet_json(cloud: FakeCloud, caller: Caller, subnet_id: str) -> dict[str, Any]:
    async def work(session: AsyncSession) -> tuple[SimSubnet, SimNetwork | None] | None:
        row = await session.get(SimSubnet, subnet_id)
        if row is None:
            return None
        return row, await session.get(SimNetwork, row.network_id)

    found = await read(cloud, work)
    if found is None or not _may_see_subnet(caller, *found):
        raise not_found("Subnet", subnet_id)
    return subnet_view(found[0])


@router.get("/v2.0/subnets")
async def list_subnets(request: Request, caller: CallerDep, cloud: CloudDep) -> dict[str, Any]:
    before_read(cloud, "subnets")

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        networks = {n.id: n for n in (await session.scalars(select(SimNetwork))).all()}
        stmt = select(SimSubnet).order_by(SimSubnet.created_at, SimSubnet.id)
        return [
            subnet_view(s)
            for s in (await session.scalars(stmt)).all()
            if _may_see_subnet(caller, s, networks.get(s.network_id))
        ]

    return {"subnets": select_items(await read(cloud, work), request.query_params)}


@router.get("/v2.0/subnets/{subnet_id}")
async def show_subnet(
    subnet_id: str, request: Request, caller: CallerDep, cloud: CloudDep
) -> dict[str, Any]:
    before_read(cloud, "subnets")
    view = await _subnet_json(cloud, caller, subnet_id)
    return {"subnet": select_items([view], fields_only(request))[0]}


@router.delete("/v2.0/subnets/{subnet_id}", status_code=204)
async def delete_subnet(subnet_id: str, caller: WriterDep, cloud: CloudDep) -> Response:
    view = await _subnet_json(cloud, caller, subnet_id)
    if not owns(caller, view["project_id"] or None):
        raise policy_refused("delete_subnet")
    await sim_call(cloud.sim.network.delete_subnet(subnet_id))
    return Response(status_code=204)

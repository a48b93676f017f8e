"""Ports of the fake Neutron: fixed IPs from the simulator's IPAM, groups, visibility."""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import APIRouter, Body, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from stackgate.fakecloud.auth import Caller, CallerDep, CloudDep, WriterDep
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.neutron_common import (
    bad_request,
    error,
    fields_only,
    flag,
    not_found,
    owner_for,
    owns,
    policy_refused,
    read,
    resource_body,
    select_items,
    sim_call,
    standard_attrs,
    tag_list,
    text,
    write,
)
from stackgate.fakecloud.neutron_networks import visible_network
from stackgate.fakecloud.neutron_quotas import enforce
from stackgate.providers.network import FixedIP, PortSpec
from stackgate.providers.simulator import ipam
from stackgate.providers.simulator.tables import (
    SimIPAllocation,
    SimNetwork,
    SimPort,
    SimSecurityGroup,
    SimSubnet,
)

router = APIRouter()


def port_view(row: SimPort, *, admin: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "network_id": row.network_id,
        "mac_address": row.mac_address,
        "admin_state_up": True,
        "status": row.status,
        "device_id": row.device_id or "",
        "device_owner": row.device_owner,
        "fixed_ips": [{"subnet_id": s, "ip_address": a} for s, a in row.fixed_ips],
        "allowed_address_pairs": [],
        "extra_dhcp_opts": [],
        "security_groups": list(row.security_group_ids),
        "port_security_enabled": True,
        "binding:vnic_type": "normal",
        "ip_allocation": "immediate",
        "propagate_uplink_status": False,
        "qos_policy_id": None,
        "qos_network_policy_id": None,
        "dns_name": "",
        **standard_attrs(row.project_id, row.created_at, row.tags),
    }
    if admin:
        # binding:* beyond the vnic type are admin-only (neutron/conf/policies/port.py).
        bound = row.status == "ACTIVE"
        view["binding:host_id"] = "" if not bound else "sim-host"
        view["binding:profile"] = {}
        view["binding:vif_details"] = {}
        view["binding:vif_type"] = "ovs" if bound else "unbound"
    return view


def may_see_port(caller: Caller, row: SimPort, network: SimNetwork | None) -> bool:
    """Own ports, and ports on networks the caller owns (neutron's port owner rules)."""
    return owns(caller, row.project_id) or (
        network is not None and network.project_id == caller.project_id
    )


async def visible_port(cloud: FakeCloud, caller: Caller, port_id: str) -> SimPort:
    # The proxy's get_port settles due server operations first (a deleted server unbinds).
    await sim_call(cloud.sim.network.get_port(port_id))

    async def work(session: AsyncSession) -> tuple[SimPort, SimNetwork | None] | None:
        row = await session.get(SimPort, port_id)
        if row is None:
            return None
        return row, await session.get(SimNetwork, row.network_id)

    found = await read(cloud, work)
    if found is None or not may_see_port(caller, *found):
        raise not_found("Port", port_id)
    return found[0]


async def _free_address(cloud: FakeCloud, subnet: SimSubnet) -> str:
    """An address for a port that named only its subnet (the simulator's IPAM takes explicit
    addresses or the network's first subnet)."""

    async def work(session: AsyncSession) -> set[str]:
        stmt = select(SimIPAllocation.ip_address).where(SimIPAllocation.subnet_id == subnet.id)
        return set((await session.scalars(stmt)).all())

    used = await read(cloud, work)
    for start, end in subnet.pools:
        low, high = int(ipaddress.ip_address(start)), int(ipaddress.ip_address(end))
        for value in range(low, high + 1):
            address = str(ipaddress.ip_address(value))
            if address not in used and address != subnet.gateway_ip:
                return address
    raise error(
        409,
        f"No more IP addresses available on network {subnet.network_id}.",
        "IpAddressGenerationFailure",
    )


async def _fixed_ips(cloud: FakeCloud, network_id: str, raw: Any) -> tuple[FixedIP, ...]:
    """[{subnet_id, ip_address}] with either part left out, resolved as Neutron does."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise bad_request("Invalid input for fixed_ips. Reason: Invalid data format for fixed IP.")

    async def work(session: AsyncSession) -> list[SimSubnet]:
        stmt = select(SimSubnet).where(SimSubnet.network_id == network_id)
        return list((await session.scalars(stmt.order_by(SimSubnet.created_at))).all())

    subnets = await read(cloud, work)
    fixed: list[FixedIP] = []
    for entry in raw:
        if not isinstance(entry, dict) or not ({"subnet_id", "ip_address"} & set(entry)):
            raise bad_request(
                f"Invalid input for fixed_ips. Reason: Invalid data format for fixed IP: '{entry}'."
            )
        subnet_id, address = entry.get("subnet_id"), entry.get("ip_address")
        if subnet_id is None:
            subnet = next((s for s in subnets if ipam.is_valid_for_subnet(s, str(address))), None)
            if subnet is None:
                raise bad_request(
                    f"IP address {address} is not a valid IP for any of the subnets on the "
                    "specified network."
                )
            subnet_id = subnet.id
        if address is None:
            subnet = next((s for s in subnets if s.id == subnet_id), None)
            if subnet is None:
                raise bad_request(
                    f"Invalid input for operation: Failed to create port on network "
                    f"{network_id}, because fixed_ips included invalid subnet {subnet_id}."
                )
            address = await _free_address(cloud, subnet)
        fixed.append(FixedIP(str(subnet_id), str(address)))
    return tuple(fixed)


async def _check_groups(cloud: FakeCloud, caller: Caller, group_ids: list[str]) -> None:
    async def work(session: AsyncSession) -> dict[str, str]:
        stmt = select(SimSecurityGroup.id, SimSecurityGroup.project_id).where(
            SimSecurityGroup.id.in_(group_ids)
        )
        return {gid: owner for gid, owner in (await session.execute(stmt)).all()}

    owners = await read(cloud, work)
    for group_id in group_ids:
        if group_id not in owners or not owns(caller, owners[group_id]):
            raise not_found("Security group", group_id)


def _group_ids(data: dict[str, Any]) -> list[str]:
    raw = data.get("security_groups") or []
    if not isinstance(raw, list) or not all(isinstance(g, str) for g in raw):
        raise bad_request("Invalid input for security_groups. Reason: not a list of ids.")
    return list(dict.fromkeys(raw))


async def port_json(cloud: FakeCloud, caller: Caller, port_id: str) -> dict[str, Any]:
    return port_view(await visible_port(cloud, caller, port_id), admin=caller.is_admin)


@router.post("/v2.0/ports", status_code=201)
async def create_port(
    request: Request, caller: WriterDep, cloud: CloudDep, body: Any = Body(...)
) -> dict[str, Any]:
    data = resource_body(body, "port")
    network_id = data.get("network_id")
    if not isinstance(network_id, str) or not network_id:
        raise bad_request("Failed to parse request. Required attribute 'network_id' not specified")
    owner = owner_for(caller, data, "port")
    network = await visible_network(cloud, caller, network_id)
    if not (owns(caller, network.project_id) or network.shared):
        raise policy_refused("create_port")
    fixed = await _fixed_ips(cloud, network_id, data.get("fixed_ips"))
    if fixed and not (owns(caller, network.project_id) or "service" in caller.roles):
        # create_port:fixed_ips:ip_address: admin, service or the network's owner.
        raise policy_refused("create_port:fixed_ips:ip_address")
    groups = _group_ids(data)
    await _check_groups(cloud, caller, groups)
    await enforce(request, cloud, owner, {"port": 1})
    spec = PortSpec(
        network_id=network_id,
        project_id=owner,
        name=text(data, "name"),
        fixed_ips=fixed,
        security_group_ids=tuple(groups),
        device_owner=text(data, "device_owner"),
        tags=tag_list(data),
    )
    made = await sim_call(cloud.sim.network.create_port(spec))
    return {"port": await port_json(cloud, caller, made.id)}


@router.get("/v2.0/ports")
async def list_ports(request: Request, caller: CallerDep, cloud: CloudDep) -> dict[str, Any]:
    # The proxy's listing settles due server operations (and answers injected API errors).
    await sim_call(cloud.sim.network.ports(device_id=request.query_params.get("device_id")))

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        networks = {n.id: n for n in (await session.scalars(select(SimNetwork))).all()}
        stmt = select(SimPort).order_by(SimPort.created_at, SimPort.id)
        return [
            port_view(p, admin=caller.is_admin)
            for p in (await session.scalars(stmt)).all()
            if may_see_port(caller, p, networks.get(p.network_id))
        ]

    return {"ports": select_items(await read(cloud, work), request.query_params)}


@router.get("/v2.0/ports/{port_id}")
async def show_port(
    port_id: str, request: Request, caller: CallerDep, cloud: CloudDep
) -> dict[str, Any]:
    view = await port_json(cloud, caller, port_id)
    return {"port": select_items([view], fields_only(request))[0]}


@router.put("/v2.0/ports/{port_id}")
async def update_port(
    port_id: str, caller: WriterDep, cloud: CloudDep, body: Any = Body(...)
) -> dict[str, Any]:
    """security_groups through the simulator; name and admin_state_up on the row."""
    data = resource_body(body, "port")
    row = await visible_port(cloud, caller, port_id)
    if not owns(caller, row.project_id):
        raise policy_refused("update_port")
    unsupported = set(data) - {"security_groups", "name", "description", "admin_state_up"}
    if unsupported:
        raise bad_request(
            f"Cannot update read-only attribute(s) {sorted(unsupported)} in this cloud."
        )
    if not flag(data, "admin_state_up", True):
        raise bad_request("Invalid input for admin_state_up. Reason: ports stay up here.")
    if "security_groups" in data:
        groups = _group_ids(data)
        await _check_groups(cloud, caller, groups)
        await sim_call(cloud.sim.network.update_port(port_id, security_group_ids=tuple(groups)))
    if "name" in data:
        name = text(data, "name")

        async def rename(session: AsyncSession) -> None:
            port = await session.get(SimPort, port_id, with_for_update=True)
            if port is not None:
                port.name = name

        await write(cloud, rename)
    return {"port": await port_json(cloud, caller, port_id)}


@router.delete("/v2.0/ports/{port_id}", status_code=204)
async def delete_port(port_id: str, caller: WriterDep, cloud: CloudDep) -> Response:
    row = await visible_port(cloud, caller, port_id)
    if not owns(caller, row.project_id):
        raise policy_refused("delete_port")
    await sim_call(cloud.sim.network.delete_port(port_id))
    return Response(status_code=204)

"""Floating IPs of the fake Neutron (neutron/db/l3_db.py): allocate, associate, release."""

from __future__ import annotations

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
    not_found,
    optional_text,
    owner_for,
    owns,
    policy_refused,
    read,
    resource_body,
    select_items,
    sim_call,
    standard_attrs,
    tag_list,
)
from stackgate.fakecloud.neutron_networks import visible_network
from stackgate.fakecloud.neutron_ports import visible_port
from stackgate.fakecloud.neutron_quotas import enforce
from stackgate.providers.network import FloatingIPSpec
from stackgate.providers.simulator.tables import SimFloatingIP, SimPort

router = APIRouter()


def ip_view(row: SimFloatingIP, port: SimPort | None) -> dict[str, Any]:
    details = None
    if port is not None:
        # The fip-port-details extension.
        details = {
            "name": port.name,
            "network_id": port.network_id,
            "mac_address": port.mac_address,
            "admin_state_up": True,
            "status": port.status,
            "device_id": port.device_id or "",
            "device_owner": port.device_owner,
        }
    return {
        "id": row.id,
        "floating_ip_address": row.address,
        "floating_network_id": row.network_id,
        "router_id": None,
        "port_id": row.port_id,
        "fixed_ip_address": row.fixed_ip_address,
        "status": row.status,
        "port_details": details,
        "qos_policy_id": None,
        "qos_network_policy_id": None,
        "dns_domain": "",
        "dns_name": "",
        "port_forwardings": [],
        **standard_attrs(row.project_id, row.created_at, row.tags),
    }


async def _ip_json(cloud: FakeCloud, caller: Caller, fip_id: str) -> dict[str, Any]:
    async def work(session: AsyncSession) -> dict[str, Any] | None:
        row = await session.get(SimFloatingIP, fip_id)
        if row is None or not owns(caller, row.project_id):
            return None
        port = None if row.port_id is None else await session.get(SimPort, row.port_id)
        return ip_view(row, port)

    view = await read(cloud, work)
    if view is None:
        raise not_found("Floating IP", fip_id)
    return view


async def _associate(
    cloud: FakeCloud, caller: Caller, fip_id: str, owner: str, data: dict[str, Any]
) -> None:
    port_id = optional_text(data, "port_id")
    fixed = optional_text(data, "fixed_ip_address")
    if port_id is not None:
        port = await visible_port(cloud, caller, port_id)
        if port.project_id != owner and not caller.is_admin:
            # l3_db._internal_fip_assoc_data
            raise bad_request(
                f"Cannot process floating IP association with Port {port_id}, since that port "
                "is owned by a different tenant"
            )
    await sim_call(cloud.sim.network.update_ip(fip_id, port_id=port_id, fixed_ip_address=fixed))


@router.post("/v2.0/floatingips", status_code=201)
async def create_floating_ip(
    request: Request, caller: WriterDep, cloud: CloudDep, body: Any = Body(...)
) -> dict[str, Any]:
    data = resource_body(body, "floatingip")
    network_id = optional_text(data, "floating_network_id")
    if not network_id:
        raise bad_request(
            "Failed to parse request. Required attribute 'floating_network_id' not specified"
        )
    owner = owner_for(caller, data, "floatingip")
    address = optional_text(data, "floating_ip_address")
    if address is not None and not (caller.is_admin or "manager" in caller.roles):
        raise policy_refused("create_floatingip:floating_ip_address")
    await visible_network(cloud, caller, network_id)
    await enforce(request, cloud, owner, {"floatingip": 1})
    made = await sim_call(
        cloud.sim.network.create_ip(FloatingIPSpec(network_id, owner, address, tag_list(data)))
    )
    if data.get("port_id") is not None:
        try:
            await _associate(cloud, caller, made.id, owner, data)
        except Exception:
            # Neutron creates and associates in one transaction: nothing stays behind.
            await sim_call(cloud.sim.network.delete_ip(made.id))
            raise
    return {"floatingip": await _ip_json(cloud, caller, made.id)}


@router.get("/v2.0/floatingips")
async def list_floating_ips(request: Request, caller: CallerDep, cloud: CloudDep) -> dict[str, Any]:
    before_read(cloud, "ips")

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        ports = {p.id: p for p in (await session.scalars(select(SimPort))).all()}
        stmt = select(SimFloatingIP).order_by(SimFloatingIP.created_at, SimFloatingIP.id)
        return [
            ip_view(f, ports.get(f.port_id) if f.port_id else None)
            for f in (await session.scalars(stmt)).all()
            if owns(caller, f.project_id)
        ]

    return {"floatingips": select_items(await read(cloud, work), request.query_params)}


@router.get("/v2.0/floatingips/{fip_id}")
async def show_floating_ip(
    fip_id: str, request: Request, caller: CallerDep, cloud: CloudDep
) -> dict[str, Any]:
    before_read(cloud, "get_ip")
    view = await _ip_json(cloud, caller, fip_id)
    return {"floatingip": select_items([view], fields_only(request))[0]}


@router.put("/v2.0/floatingips/{fip_id}")
async def update_floating_ip(
    fip_id: str, caller: WriterDep, cloud: CloudDep, body: Any = Body(...)
) -> dict[str, Any]:
    """{port_id[, fixed_ip_address]} associates, {port_id: null} disassociates."""
    data = resource_body(body, "floatingip")
    view = await _ip_json(cloud, caller, fip_id)
    if "port_id" in data:
        await _associate(cloud, caller, fip_id, view["project_id"], data)
    return {"floatingip": await _ip_json(cloud, caller, fip_id)}


@router.delete("/v2.0/floatingips/{fip_id}", status_code=204)
async def delete_floating_ip(fip_id: str, caller: WriterDep, cloud: CloudDep) -> Response:
    await _ip_json(cloud, caller, fip_id)
    await sim_call(cloud.sim.network.delete_ip(fip_id))
    return Response(status_code=204)

"""Nova's server body (nova/api/openstack/compute/views/servers.py) from the simulator's state:
status and OS-EXT-STS fields from the simulated compute, addresses from the simulated Neutron
ports bound to the server, the fields that depend on the microversion shaped by it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.fakecloud.auth import Caller, base_url, visible
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.nova_common import iso, iso_usec, links, microversion, not_found
from stackgate.providers.base import ProviderServer
from stackgate.providers.simulator.tables import (
    SimFloatingIP,
    SimNetwork,
    SimPort,
    SimServer,
    SimServerExtra,
    SimVolume,
)

# The network the simulator's legacy addresses (servers booted without ports) come from.
LEGACY_NETWORK = "private"
# nova/api/openstack/compute/views/servers.py: progress is shown for these only.
_PROGRESS_STATUSES = ("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING")


@dataclass(slots=True)
class Address:
    network: str
    addr: str
    version: int
    kind: str  # fixed | floating
    mac: str | None


@dataclass(slots=True)
class ServerState:
    """Everything a server body shows, read once."""

    dto: ProviderServer
    row: SimServer
    extra: SimServerExtra | None
    addresses: list[Address] = field(default_factory=list)
    volume_ids: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)


async def _rows(session: AsyncSession, ids: Sequence[str]) -> dict[str, Any]:
    servers = {
        s.id: s for s in (await session.scalars(select(SimServer).where(SimServer.id.in_(ids))))
    }
    extras = {
        e.server_id: e
        for e in await session.scalars(
            select(SimServerExtra).where(SimServerExtra.server_id.in_(ids))
        )
    }
    ports = list(
        await session.scalars(
            select(SimPort).where(SimPort.device_id.in_(ids)).order_by(SimPort.created_at)
        )
    )
    network_ids = {p.network_id for p in ports}
    networks = {
        n.id: n.name
        for n in await session.scalars(select(SimNetwork).where(SimNetwork.id.in_(network_ids)))
    }
    fips = list(
        await session.scalars(
            select(SimFloatingIP).where(SimFloatingIP.port_id.in_([p.id for p in ports]))
        )
    )
    volumes = list(
        await session.scalars(
            select(SimVolume).where(SimVolume.server_id.in_(ids)).order_by(SimVolume.device)
        )
    )
    return {
        "servers": servers,
        "extras": extras,
        "ports": ports,
        "networks": networks,
        "fips": fips,
        "volumes": volumes,
    }


def _state(dto: ProviderServer, data: dict[str, Any]) -> ServerState | None:
    row: SimServer | None = data["servers"].get(dto.id)
    if row is None:
        return None
    state = ServerState(dto=dto, row=row, extra=data["extras"].get(dto.id))
    for port in data["ports"]:
        if port.device_id != dto.id:
            continue
        name = data["networks"].get(port.network_id, port.network_id)
        for _, addr in port.fixed_ips:
            version = 6 if ":" in str(addr) else 4
            state.addresses.append(Address(name, str(addr), version, "fixed", port.mac_address))
            for fip in data["fips"]:
                if fip.port_id == port.id and fip.fixed_ip_address == addr:
                    state.addresses.append(
                        Address(name, fip.address, 4, "floating", port.mac_address)
                    )
        state.security_groups.extend(port.security_group_ids)
    if row.ip_address:
        state.addresses.insert(0, Address(LEGACY_NETWORK, row.ip_address, 4, "fixed", None))
    state.volume_ids = [v.id for v in data["volumes"] if v.server_id == dto.id]
    return state


async def states(cloud: FakeCloud, dtos: Sequence[ProviderServer]) -> list[ServerState]:
    ids = [d.id for d in dtos]

    async def work(session: AsyncSession) -> dict[str, Any]:
        return await _rows(session, ids)

    data = await cloud.sim.store.run(work)
    found = (_state(dto, data) for dto in dtos)
    return [s for s in found if s is not None]


async def load(cloud: FakeCloud, caller: Caller, server_id: str) -> ServerState:
    """One server the caller may see, or Nova's 404 (another project's server is 404 too)."""
    dto = await cloud.sim.compute.get_server(server_id)
    found = await states(cloud, [dto])
    if not found or not visible(caller, found[0].row.project_id):
        raise not_found(f"Instance {server_id} could not be found.")
    return found[0]


def _flavor(request: Request, flavor: dict[str, Any]) -> dict[str, Any]:
    if microversion(request) >= (2, 47):
        return {
            "original_name": flavor["name"],
            "vcpus": flavor["vcpus"],
            "ram": flavor["ram_mb"],
            "disk": flavor["disk_gb"],
            "ephemeral": 0,
            "swap": 0,
            "extra_specs": {},
        }
    flavor_id = flavor.get("id") or ""
    return {"id": flavor_id, "links": links(base_url(request), "flavors", flavor_id)[1:]}


def _addresses(state: ServerState) -> dict[str, list[dict[str, Any]]]:
    shown: dict[str, list[dict[str, Any]]] = {}
    for a in state.addresses:
        shown.setdefault(a.network, []).append(
            {
                "version": a.version,
                "addr": a.addr,
                "OS-EXT-IPS:type": a.kind,
                "OS-EXT-IPS-MAC:mac_addr": a.mac,
            }
        )
    return shown


def host_id(project_id: str, host: str | None) -> str:
    """Nova's hostId: sha224 of project id and host, "" without a host."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def server_body(request: Request, caller: Caller, state: ServerState) -> dict[str, Any]:
    dto, row, extra = state.dto, state.row, state.extra
    version = microversion(request)
    root = base_url(request)
    image: Any = ""
    if dto.image_id and (extra is None or extra.image_given):
        image = {"id": dto.image_id, "links": links(root, "images", dto.image_id)[1:]}
    moments = [m for m in (row.created_at, row.started_at, row.launched_at) if m is not None]
    if extra is not None:
        moments.append(extra.updated_at)
    body: dict[str, Any] = {
        "id": dto.id,
        "name": dto.name,
        "status": dto.status,
        "tenant_id": row.project_id,
        "user_id": extra.user_id if extra else None,
        "metadata": dict(row.meta),
        "hostId": host_id(row.project_id, dto.host),
        "image": image,
        "flavor": _flavor(request, row.flavor),
        "created": iso(row.created_at),
        "updated": iso(max(moments)),
        "addresses": _addresses(state),
        "accessIPv4": "",
        "accessIPv6": "",
        "links": links(root, "servers", dto.id),
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": "nova" if dto.host else "",
        "config_drive": "",
        "key_name": extra.key_name if extra else None,
        "OS-SRV-USG:launched_at": iso_usec(dto.launched_at),
        "OS-SRV-USG:terminated_at": None,
        "OS-EXT-STS:task_state": dto.task_state,
        "OS-EXT-STS:vm_state": dto.vm_state,
        "OS-EXT-STS:power_state": dto.power_state,
        "os-extended-volumes:volumes_attached": [
            {"id": vid, **({"delete_on_termination": False} if version >= (2, 3) else {})}
            for vid in state.volume_ids
        ],
    }
    if dto.status in _PROGRESS_STATUSES:
        body["progress"] = 0
    groups = (extra.security_groups if extra else []) or (["default"] if state.addresses else [])
    if groups:
        body["security_groups"] = [{"name": g} for g in groups]
    if dto.fault is not None:
        body["fault"] = {
            "code": dto.fault.code,
            "message": dto.fault.message,
            "created": iso(dto.fault.created),
        }
        if caller.is_admin:
            body["fault"]["details"] = dto.fault.message
    if caller.is_admin:
        body["OS-EXT-SRV-ATTR:host"] = dto.host
        body["OS-EXT-SRV-ATTR:hypervisor_hostname"] = dto.host
        body["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{dto.id[:8]}"
        if version >= (2, 3):
            body["OS-EXT-SRV-ATTR:hostname"] = dto.name
            body["OS-EXT-SRV-ATTR:reservation_id"] = f"r-{dto.id[:8]}"
            body["OS-EXT-SRV-ATTR:launch_index"] = 0
            body["OS-EXT-SRV-ATTR:kernel_id"] = ""
            body["OS-EXT-SRV-ATTR:ramdisk_id"] = ""
            body["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/vda"
            body["OS-EXT-SRV-ATTR:user_data"] = None
        if version >= (2, 16):
            body["host_status"] = "UP" if dto.host else ""
    if version >= (2, 9):
        body["locked"] = bool(row.locked)
    if version >= (2, 19):
        body["description"] = extra.description if extra else None
    if version >= (2, 26):
        body["tags"] = list(dto.tags)
    if version >= (2, 63):
        body["trusted_image_certificates"] = None
    if version >= (2, 71):
        body["server_groups"] = []
    if version >= (2, 73):
        body["locked_reason"] = extra.locked_reason if extra and row.locked else None
    if version >= (2, 90):
        body["OS-EXT-SRV-ATTR:hostname"] = dto.name
    if version >= (2, 96):
        body["pinned_availability_zone"] = None
    return body

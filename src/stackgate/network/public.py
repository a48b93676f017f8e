"""What other features may use of the network feature, and nothing else of it: a server's
networking made and released inside the server's own unit of work, what a server body shows,
the project's default security group and group references, and the quota usage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.context import RequestContext
from stackgate.core.operations import OperationFactory
from stackgate.core.uow import UnitOfWork
from stackgate.network.models import Port, SecurityGroup
from stackgate.network.networks.repository import NetworkRepository
from stackgate.network.networks.service import (
    ensure_private_network,
    network_usage,
    resolve_networks,
)
from stackgate.network.ports.repository import PortRepository
from stackgate.network.ports.service import create_server_port, release_server_ports
from stackgate.network.repository import floating_ips_on_ports
from stackgate.network.security_groups.service import (
    ensure_default_group,
    resolve_groups,
    sg_usage,
)

__all__ = [
    "ServerNetworking",
    "create_server_port",
    "ensure_default_group",
    "ensure_private_network",
    "groups_of_ports",
    "network_usage",
    "ports_of_server",
    "queue_port_update",
    "release_server_ports",
    "resolve_groups",
    "resolve_networks",
    "server_networking",
    "set_port_groups",
    "sg_usage",
]


@dataclass(frozen=True, slots=True)
class ServerNetworking:
    """What a server body shows of its networking."""

    # {network name: [{"addr", "type": "fixed"|"floating", "port_id", "mac_addr"}]}
    addresses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    security_groups: list[str] = field(default_factory=list)


async def ports_of_server(session: AsyncSession, server_id: str) -> Sequence[Port]:
    """A server's ports, oldest first (the compute worker waits for them to reach the cloud)."""
    return await PortRepository(session).of_servers([server_id])


async def groups_of_ports(
    session: AsyncSession, port_ids: Sequence[str]
) -> dict[str, list[SecurityGroup]]:
    """The groups linked to each port, by name (one query for all the ports)."""
    return await PortRepository(session).groups_of(port_ids)


async def set_port_groups(uow: UnitOfWork, port_id: str, groups: Sequence[SecurityGroup]) -> None:
    """Link exactly `groups` to the port (the caller queues the port's update with
    queue_port_update)."""
    await PortRepository(uow.session).set_groups(port_id, [g.id for g in groups])


def queue_port_update(
    uow: UnitOfWork,
    ctx: RequestContext,
    *,
    project_id: str,
    port_id: str,
    params: dict[str, Any] | None = None,
    operations: OperationFactory,
) -> None:
    """The worker applies a port's changed groups in the cloud."""
    uow.operations.add(
        operations.due_now(
            project_id=project_id,
            resource_type="port",
            resource_id=port_id,
            action="update",
            params=params,
            user_id=ctx.user_id,
            request_id=ctx.request_id,
        )
    )


async def server_networking(
    session: AsyncSession, server_ids: Sequence[str]
) -> dict[str, ServerNetworking]:
    """Per server: its addresses by network name and its security group names."""
    ports = await PortRepository(session).of_servers(server_ids)
    result = {sid: ServerNetworking() for sid in server_ids}
    if not ports:
        return result
    port_ids = [p.id for p in ports]
    networks = NetworkRepository(session)
    allocations = await networks.allocations_of(port_ids)
    fips = await floating_ips_on_ports(session, port_ids)
    groups = await PortRepository(session).groups_of(port_ids)
    names = await networks.names_of([p.network_id for p in ports])
    for port in ports:
        view = result[str(port.device_id)]
        entries = view.addresses.setdefault(names.get(port.network_id, port.network_id), [])
        base = {"port_id": port.id, "mac_addr": port.mac_address}
        for alloc in allocations:
            if alloc.owner_id == port.id:
                entries.append({"addr": alloc.ip_address, "type": "fixed", **base})
        for fip in fips:
            if fip.port_id == port.id:
                entries.append({"addr": fip.floating_ip_address, "type": "floating", **base})
        for group in groups.get(port.id, []):
            if group.name not in view.security_groups:
                view.security_groups.append(group.name)
    return result

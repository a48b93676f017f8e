"""Network building blocks shared by the network use cases and by server create/delete
(compute calls ensure_private_network, resolve_networks, create_server_port,
release_server_ports and server_networking inside its own unit of work)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.clock import utcnow
from stackgate.core.context import RequestContext
from stackgate.core.errors import AmbiguousReference
from stackgate.core.ids import new_id
from stackgate.core.operations import Operation
from stackgate.core.uow import UnitOfWork
from stackgate.identity.public import IdentityRepository, quotas
from stackgate.network import ipam
from stackgate.network.errors import (
    ExternalNetworkForPorts,
    IpAddressInUse,
    IpExhausted,
    NoSubnet,
    UnknownNetworkReference,
)
from stackgate.network.models import IPAllocation, Network, Port, SecurityGroup, Subnet
from stackgate.network.repository import NetworkRepository
from stackgate.network.seed import PRIVATE_CIDR, PRIVATE_NETWORK_NAME, PRIVATE_SUBNET_NAME

OPERATION_TIMEOUT = 600.0
SERVER_PORT_OWNER = "compute:nova"
_rng = random.SystemRandom()


class Status:
    """Neutron's statuses of networks, subnets, ports and floating IPs."""

    BUILD = "BUILD"
    ACTIVE = "ACTIVE"
    DOWN = "DOWN"
    ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class ServerNetworking:
    """What a server body shows of its networking."""

    # {network name: [{"addr", "type": "fixed"|"floating", "port_id", "mac_addr"}]}
    addresses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    security_groups: list[str] = field(default_factory=list)


def new_mac() -> str:
    """A MAC with OpenStack's base prefix fa:16:3e (neutron base_mac)."""
    return "fa:16:3e:" + ":".join(f"{_rng.randrange(256):02x}" for _ in range(3))


def queue(
    uow: UnitOfWork,
    *,
    project_id: str,
    resource_type: str,
    resource_id: str,
    action: str,
    ctx: RequestContext | None = None,
    params: dict[str, Any] | None = None,
    timeout: float = OPERATION_TIMEOUT,
) -> Operation:
    """An operation for the network worker (network/handlers.py)."""
    return uow.operations.add(
        Operation.due_now(
            project_id=project_id,
            user_id=ctx.user_id if ctx else None,
            request_id=ctx.request_id if ctx else None,
            resource_type=resource_type,
            resource_id=resource_id,
            action=action,
            params=params,
            now=utcnow(),
            timeout=timedelta(seconds=timeout),
        )
    )


async def supersede(uow: UnitOfWork, resource_id: str, reason: str) -> bool:
    """Cancel the resource's open operations; True when a delete is already queued."""
    for op in await uow.operations.open_for_resource(resource_id):
        if op.action == "delete":
            return True
        op.cancel(reason)
    return False


async def deleting(uow: UnitOfWork, resource_id: str) -> bool:
    return any(op.action == "delete" for op in await uow.operations.open_for_resource(resource_id))


async def network_usage(uow: UnitOfWork, project_id: str) -> dict[str, int]:
    """networks, subnets, ports and floating_ips of the project (quota usage)."""
    return await NetworkRepository(uow.session).usage(project_id)


async def allocate(
    repo: NetworkRepository,
    subnet_id: str,
    *,
    owner_type: str,
    owner_id: str,
    address: str | None = None,
    field_name: str = "fixed_ips",
) -> str:
    """An address of the subnet for its owner: the one asked for, else a free one. The subnet
    row is locked first, so concurrent picks on one subnet take turns; the allocation's
    primary key is the guarantee."""
    subnet = await repo.subnet(subnet_id, lock=True)
    assert subnet is not None
    if address is not None:
        chosen = ipam.check_requested(
            address, cidr=subnet.cidr, gateway_ip=subnet.gateway_ip, field=field_name
        )
        if await repo.address_taken(subnet.id, chosen):
            raise IpAddressInUse(chosen, subnet.id)
    else:
        used = await repo.used_addresses(subnet.id)
        picked = ipam.pick_free(
            subnet.pool_start, subnet.pool_end, used, gateway_ip=subnet.gateway_ip, rng=_rng
        )
        if picked is None:
            raise IpExhausted(subnet.network_id)
        chosen = picked
    try:
        async with repo.session.begin_nested():
            repo.add(
                IPAllocation(
                    subnet_id=subnet.id,
                    ip_address=chosen,
                    network_id=subnet.network_id,
                    owner_type=owner_type,
                    owner_id=owner_id,
                )
            )
    except IntegrityError as exc:
        raise IpAddressInUse(chosen, subnet.id) from exc
    return chosen


def new_subnet(network: Network, plan: ipam.SubnetPlan, **fields: Any) -> Subnet:
    return Subnet(
        id=new_id(),
        network_id=network.id,
        cidr=plan.cidr,
        ip_version=plan.ip_version,
        gateway_ip=plan.gateway_ip,
        pool_start=plan.pool_start,
        pool_end=plan.pool_end,
        status=Status.BUILD,
        **fields,
    )


async def ensure_private_network(uow: UnitOfWork, project_id: str) -> Network:
    """The project's `private` network (10.0.0.0/24, subnet `private-subnet`), made on first
    use with its create operations; one per project even under concurrency."""
    repo = NetworkRepository(uow.session)
    found = await repo.private_network(project_id)
    if found is not None:
        return found
    # Serialise with other first uses in this project; default_for is unique as a last guard.
    await IdentityRepository(uow.session).lock_project(project_id)
    found = await repo.private_network(project_id)
    if found is not None:
        return found
    network = Network(
        id=new_id(),
        project_id=project_id,
        name=PRIVATE_NETWORK_NAME,
        shared=False,
        external=False,
        admin_state_up=True,
        status=Status.BUILD,
        default_for=project_id,
    )
    repo.add(network)
    subnet = new_subnet(
        network,
        ipam.plan_subnet(PRIVATE_CIDR),
        project_id=project_id,
        name=PRIVATE_SUBNET_NAME,
        enable_dhcp=True,
    )
    repo.add(subnet)
    await repo.flush()
    queue(
        uow, project_id=project_id, resource_type="network", resource_id=network.id, action="create"
    )
    queue(
        uow, project_id=project_id, resource_type="subnet", resource_id=subnet.id, action="create"
    )
    return network


async def resolve_networks(
    uow: UnitOfWork, ctx: RequestContext, refs: Sequence[str]
) -> list[Network]:
    """Networks a server may be plugged into, by id or name: the caller's or shared ones, not
    external; unknown -> 400 naming `networks`."""
    repo = NetworkRepository(uow.session)
    found: dict[str, Network] = {}
    for ref in refs:
        matches = list(await repo.find_networks(None if ctx.is_admin else ctx.project_id, ref))
        if not matches or await deleting(uow, matches[0].id):
            raise UnknownNetworkReference("networks", ref)
        if len(matches) > 1:
            raise AmbiguousReference("networks", ref)
        if matches[0].external:
            raise ExternalNetworkForPorts("networks", ref)
        found.setdefault(matches[0].id, matches[0])
    return list(found.values())


async def first_ipv4_subnet(repo: NetworkRepository, network: Network) -> Subnet:
    for subnet in await repo.subnets_of(network.id):
        if subnet.ip_version == 4:
            return subnet
    raise NoSubnet(network.id)


async def create_server_port(
    uow: UnitOfWork,
    ctx: RequestContext,
    network: Network,
    groups: Sequence[SecurityGroup],
    server_id: str,
    user_id: str | None,
) -> Port:
    """A server's port on `network`: one fixed IP from its first IPv4 subnet (409 ip_exhausted
    when none is free), the groups linked, `ports` quota enforced, and its create operation."""
    await quotas.enforce(uow, ctx.project_id, {"ports": 1}, network_usage)
    repo = NetworkRepository(uow.session)
    port = Port(
        id=new_id(),
        project_id=ctx.project_id,
        network_id=network.id,
        name="",
        mac_address=new_mac(),
        device_id=server_id,
        device_owner=SERVER_PORT_OWNER,
        admin_state_up=True,
        status=Status.BUILD,
    )
    repo.add(port)
    await repo.flush()
    subnet = await first_ipv4_subnet(repo, network)
    await allocate(repo, subnet.id, owner_type="port", owner_id=port.id)
    await repo.set_groups(port.id, [g.id for g in groups])
    await repo.flush()
    queue(
        uow,
        project_id=port.project_id,
        resource_type="port",
        resource_id=port.id,
        action="create",
        ctx=ctx if user_id is None else _with_user(ctx, user_id),
    )
    return port


def _with_user(ctx: RequestContext, user_id: str) -> RequestContext:
    return replace(ctx, user_id=user_id)


async def disassociate_rows(uow: UnitOfWork, port_ids: Sequence[str]) -> None:
    """Floating IPs on these ports let go of them at once (Neutron does so on port delete)."""
    repo = NetworkRepository(uow.session)
    for fip in await repo.floating_ips_on(port_ids):
        for op in await uow.operations.open_for_resource(fip.id):
            if op.action in ("associate", "disassociate"):
                op.cancel("the port is being deleted")
        fip.port_id = fip.fixed_ip_address = fip.server_id = None
        fip.status = Status.DOWN


async def queue_port_delete(uow: UnitOfWork, port: Port, ctx: RequestContext | None) -> None:
    if await supersede(uow, port.id, "superseded by delete"):
        return
    queue(
        uow,
        project_id=port.project_id,
        resource_type="port",
        resource_id=port.id,
        action="delete",
        ctx=ctx,
    )


async def release_server_ports(
    uow: UnitOfWork, ctx_or_none: RequestContext | None, server_id: str
) -> list[str]:
    """Queue the deletion of a server's ports (the worker deletes them in the cloud, then the
    rows and their addresses); their floating IPs are disassociated now. Returns port ids."""
    repo = NetworkRepository(uow.session)
    ports = list(await repo.ports_of_servers([server_id]))
    await disassociate_rows(uow, [p.id for p in ports])
    for port in ports:
        await queue_port_delete(uow, port, ctx_or_none)
    await repo.flush()
    return [p.id for p in ports]


async def ports_of_server(session: AsyncSession, server_id: str) -> Sequence[Port]:
    """A server's ports, oldest first (the compute worker waits for them to reach the cloud)."""
    return await NetworkRepository(session).ports_of_servers([server_id])


async def server_networking(
    session: AsyncSession, server_ids: Sequence[str]
) -> dict[str, ServerNetworking]:
    """Per server: its addresses by network name and its security group names."""
    repo = NetworkRepository(session)
    ports = await repo.ports_of_servers(server_ids)
    result = {sid: ServerNetworking() for sid in server_ids}
    if not ports:
        return result
    port_ids = [p.id for p in ports]
    allocations = await repo.allocations_of(port_ids)
    fips = await repo.floating_ips_on(port_ids)
    groups = await repo.groups_of(port_ids)
    names: dict[str, str] = {}
    for port in ports:
        if port.network_id not in names:
            network = await session.get(Network, port.network_id)
            names[port.network_id] = network.name if network else port.network_id
    for port in ports:
        view = result[str(port.device_id)]
        entries = view.addresses.setdefault(names[port.network_id], [])
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

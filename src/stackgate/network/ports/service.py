"""Port use cases (Neutron's /ports): addresses allocated here, under the subnet's row lock,
so no address is ever handed out twice; the cloud side is queued for the network worker.
Also a server's ports, made and released inside the server's own unit of work."""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.context import RequestContext
from stackgate.core.ids import new_id
from stackgate.core.operations import OperationFactory
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.uow import UnitOfWork
from stackgate.identity.public import policy, quotas
from stackgate.network.errors import ExternalNetworkForPorts, InvalidAddress
from stackgate.network.models import IPAllocation, Network, Port, SecurityGroup, Status
from stackgate.network.networks.repository import NetworkRepository
from stackgate.network.networks.service import NetworkUoW, network_usage, visible_network
from stackgate.network.ports.errors import PortBound, PortNotFound
from stackgate.network.ports.repository import PortFilters, PortRepository
from stackgate.network.ports.schemas import FixedIPRequest, PortCreate, PortUpdate
from stackgate.network.repository import (
    cancel_pending,
    deleting,
    floating_ips_on_ports,
    supersede,
)
from stackgate.network.security_groups.service import resolve_groups

SERVER_PORT_OWNER = "compute:nova"
_rng = random.SystemRandom()


class PortUoW(NetworkUoW):
    ports: PortRepository

    def _attach(self, session: AsyncSession) -> None:
        super()._attach(session)
        self.ports = PortRepository(session)


@dataclass(frozen=True, slots=True)
class PortDetails:
    """A port with its fixed IPs and security group ids (what a port body shows)."""

    port: Port
    fixed_ips: Sequence[IPAllocation]
    security_group_ids: Sequence[str]


def new_mac() -> str:
    """A MAC with OpenStack's base prefix fa:16:3e (neutron base_mac)."""
    return "fa:16:3e:" + ":".join(f"{_rng.randrange(256):02x}" for _ in range(3))


async def details(session: AsyncSession, ports: Sequence[Port]) -> list[PortDetails]:
    ids = [p.id for p in ports]
    allocations = await NetworkRepository(session).allocations_of(ids)
    groups = await PortRepository(session).groups_of(ids)
    return [
        PortDetails(
            port,
            [a for a in allocations if a.owner_id == port.id],
            [g.id for g in groups.get(port.id, [])],
        )
        for port in ports
    ]


async def _subnet_for(repo: NetworkRepository, network: Network, want: FixedIPRequest) -> str:
    """The subnet of `network` a fixed-IP request names, or the one holding its address."""
    subnets = await repo.subnets_of(network.id)
    if want.subnet_id is not None:
        for subnet in subnets:
            if subnet.id == want.subnet_id:
                return subnet.id
        raise InvalidAddress("fixed_ips", f"subnet {want.subnet_id} is not on this network")
    if want.ip_address is None:
        return (await repo.first_ipv4_subnet(network)).id
    try:
        address = ipaddress.ip_address(want.ip_address.strip())
    except ValueError as exc:
        raise InvalidAddress("fixed_ips", f"{want.ip_address!r} is not an IP address") from exc
    for subnet in subnets:
        if address in ipaddress.ip_network(subnet.cidr):
            return subnet.id
    raise InvalidAddress("fixed_ips", f"{address} is not inside any subnet of this network")


async def create_server_port(
    uow: UnitOfWork,
    ctx: RequestContext,
    network: Network,
    groups: Sequence[SecurityGroup],
    server_id: str,
    user_id: str | None,
    *,
    operations: OperationFactory,
) -> Port:
    """A server's port on `network`: one fixed IP from its first IPv4 subnet (409 ip_exhausted
    when none is free), the groups linked, `ports` quota enforced, and its create operation."""
    await quotas.enforce(uow, ctx.project_id, {"ports": 1}, network_usage)
    networks, ports = NetworkRepository(uow.session), PortRepository(uow.session)
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
    ports.add(port)
    await uow.session.flush()
    subnet = await networks.first_ipv4_subnet(network)
    await networks.allocate(subnet.id, owner_type="port", owner_id=port.id)
    await ports.set_groups(port.id, [g.id for g in groups])
    await uow.session.flush()
    uow.operations.add(
        operations.due_now(
            project_id=port.project_id,
            resource_type="port",
            resource_id=port.id,
            action="create",
            user_id=ctx.user_id if user_id is None else user_id,
            request_id=ctx.request_id,
        )
    )
    return port


async def disassociate_rows(
    uow: UnitOfWork, port_ids: Sequence[str], *, operations: OperationFactory
) -> None:
    """Floating IPs on these ports let go of them at once (Neutron does so on port delete)."""
    now = operations.clock.now()
    for fip in await floating_ips_on_ports(uow.session, port_ids):
        await cancel_pending(
            uow, fip.id, ("associate", "disassociate"), "the port is being deleted", now=now
        )
        fip.port_id = fip.fixed_ip_address = fip.server_id = None
        fip.status = Status.DOWN


async def queue_port_delete(
    uow: UnitOfWork, port: Port, ctx: RequestContext | None, *, operations: OperationFactory
) -> None:
    if await supersede(uow, port.id, "superseded by delete", now=operations.clock.now()):
        return
    uow.operations.add(
        operations.due_now(
            project_id=port.project_id,
            resource_type="port",
            resource_id=port.id,
            action="delete",
            user_id=ctx.user_id if ctx else None,
            request_id=ctx.request_id if ctx else None,
        )
    )


async def release_server_ports(
    uow: UnitOfWork,
    ctx_or_none: RequestContext | None,
    server_id: str,
    *,
    operations: OperationFactory,
) -> list[str]:
    """Queue the deletion of a server's ports (the worker deletes them in the cloud, then the
    rows and their addresses); their floating IPs are disassociated now. Returns port ids."""
    ports = list(await PortRepository(uow.session).of_servers([server_id]))
    await disassociate_rows(uow, [p.id for p in ports], operations=operations)
    for port in ports:
        await queue_port_delete(uow, port, ctx_or_none, operations=operations)
    await uow.session.flush()
    return [p.id for p in ports]


class PortService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        operations: OperationFactory,
        wakeup: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._operations = operations
        self._wakeup = wakeup

    def uow(self) -> PortUoW:
        return PortUoW(self._sessionmaker)

    def _queue(self, uow: PortUoW, ctx: RequestContext, port: Port, action: str) -> None:
        uow.operations.add(
            self._operations.due_now(
                project_id=port.project_id,
                resource_type="port",
                resource_id=port.id,
                action=action,
                user_id=ctx.user_id,
                request_id=ctx.request_id,
            )
        )

    async def _load(self, uow: PortUoW, ctx: RequestContext, port_id: str) -> Port:
        port = await uow.ports.get(port_id)
        if (
            port is None
            or not (ctx.is_admin or port.project_id == ctx.project_id)
            or await deleting(uow, port.id)
        ):
            raise PortNotFound(port_id)
        return port

    async def create(self, ctx: RequestContext, data: PortCreate) -> PortDetails:
        """An unbound port with its addresses (the asked-for ones, else one from the first
        IPv4 subnet) and security groups (default: `default`)."""
        policy.enforce(ctx, "network:write")
        async with self.uow() as uow:
            network = await visible_network(uow, ctx, data.network_id)
            if network.external and not ctx.is_admin:
                raise ExternalNetworkForPorts("network_id", data.network_id)
            await quotas.enforce(uow, ctx.project_id, {"ports": 1}, network_usage)
            groups = await resolve_groups(
                uow, ctx, data.security_groups or [], operations=self._operations
            )
            port = Port(
                id=new_id(),
                project_id=ctx.project_id,
                network_id=network.id,
                name=data.name,
                description=data.description,
                mac_address=new_mac(),
                device_owner="",
                admin_state_up=True,
                status=Status.BUILD,
            )
            uow.ports.add(port)
            await uow.flush()
            repo = uow.networks
            if data.fixed_ips:
                for want in data.fixed_ips:
                    subnet_id = await _subnet_for(repo, network, want)
                    await repo.allocate(
                        subnet_id, owner_type="port", owner_id=port.id, address=want.ip_address
                    )
            else:
                subnet = await repo.first_ipv4_subnet(network)
                await repo.allocate(subnet.id, owner_type="port", owner_id=port.id)
            await uow.ports.set_groups(port.id, [g.id for g in groups])
            await uow.flush()
            self._queue(uow, ctx, port, "create")
            result = (await details(uow.session, [port]))[0]
            await uow.commit()
        self._wakeup()
        return result

    async def list(
        self,
        ctx: RequestContext,
        *,
        network_id: str | None,
        device_id: str | None,
        status: str | None,
        page: PageRequest,
    ) -> PageResult[PortDetails]:
        """The project's ports."""
        policy.enforce(ctx, "network:read")
        filters = PortFilters(network_id=network_id, device_id=device_id, status=status)
        async with self.uow() as uow:
            found = await uow.ports.list(ctx.project_id, filters=filters, page=page)
            items = await details(uow.session, found.items)
        return PageResult(items, found.total, found.page, found.per_page, found.next_cursor)

    async def get(self, ctx: RequestContext, port_id: str) -> PortDetails:
        """One port of the project."""
        policy.enforce(ctx, "network:read")
        async with self.uow() as uow:
            port = await self._load(uow, ctx, port_id)
            return (await details(uow.session, [port]))[0]

    async def update(self, ctx: RequestContext, port_id: str, data: PortUpdate) -> PortDetails:
        """Rename a port or replace its security groups (applied in the cloud by the worker)."""
        policy.enforce(ctx, "network:write")
        changed_groups = False
        async with self.uow() as uow:
            port = await self._load(uow, ctx, port_id)
            if data.name is not None:
                port.name = data.name
            if data.security_groups is not None:
                # The cloud admin acting on another project's port picks that project's groups.
                owner = ctx if port.project_id == ctx.project_id else None
                groups = await resolve_groups(
                    uow,
                    owner or replace(ctx, project_id=port.project_id),
                    data.security_groups,
                    operations=self._operations,
                )
                await uow.ports.set_groups(port.id, [g.id for g in groups])
                self._queue(uow, ctx, port, "update")
                changed_groups = True
            await uow.flush()
            result = (await details(uow.session, [port]))[0]
            await uow.commit()
        if changed_groups:
            self._wakeup()
        return result

    async def delete(self, ctx: RequestContext, port_id: str) -> PortDetails:
        """Queue the deletion of an unbound port (a server's port goes with its server: 409);
        floating IPs on it are disassociated now, its addresses freed once it is gone."""
        policy.enforce(ctx, "network:write")
        async with self.uow() as uow:
            port = await self._load(uow, ctx, port_id)
            if port.device_id:
                raise PortBound(port.id, port.device_id)
            await disassociate_rows(uow, [port.id], operations=self._operations)
            await queue_port_delete(uow, port, ctx, operations=self._operations)
            result = (await details(uow.session, [port]))[0]
            await uow.commit()
        self._wakeup()
        return result

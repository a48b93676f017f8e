"""Port use cases (Neutron's /ports): addresses allocated here, under the subnet's row lock,
so no address is ever handed out twice; the cloud side is queued for the network worker."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.context import RequestContext
from stackgate.core.ids import new_id
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.identity.public import policy, quotas
from stackgate.network import sg_service
from stackgate.network.errors import (
    ExternalNetworkForPorts,
    InvalidAddress,
    PortBound,
    PortNotFound,
)
from stackgate.network.models import IPAllocation, Network, Port
from stackgate.network.network_service import NetworkUoW, NetworkUseCases, visible_network
from stackgate.network.repository import NetworkRepository, PortFilters
from stackgate.network.schemas import FixedIPRequest, PortCreate, PortUpdate
from stackgate.network.service import (
    Status,
    allocate,
    deleting,
    disassociate_rows,
    first_ipv4_subnet,
    network_usage,
    new_mac,
    queue,
    queue_port_delete,
)


@dataclass(frozen=True, slots=True)
class PortDetails:
    """A port with its fixed IPs and security group ids (what a port body shows)."""

    port: Port
    fixed_ips: Sequence[IPAllocation]
    security_group_ids: Sequence[str]


async def details(session: AsyncSession, ports: Sequence[Port]) -> list[PortDetails]:
    repo = NetworkRepository(session)
    ids = [p.id for p in ports]
    allocations = await repo.allocations_of(ids)
    groups = await repo.groups_of(ids)
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
        return (await first_ipv4_subnet(repo, network)).id
    try:
        address = ipaddress.ip_address(want.ip_address.strip())
    except ValueError as exc:
        raise InvalidAddress("fixed_ips", f"{want.ip_address!r} is not an IP address") from exc
    for subnet in subnets:
        if address in ipaddress.ip_network(subnet.cidr):
            return subnet.id
    raise InvalidAddress("fixed_ips", f"{address} is not inside any subnet of this network")


class PortService(NetworkUseCases):
    async def _load(self, uow: NetworkUoW, ctx: RequestContext, port_id: str) -> Port:
        port = await uow.networks.port(port_id)
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
            groups = await sg_service.resolve_groups(uow, ctx, data.security_groups or [])
            repo = uow.networks
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
            repo.add(port)
            await repo.flush()
            if data.fixed_ips:
                for want in data.fixed_ips:
                    subnet_id = await _subnet_for(repo, network, want)
                    await allocate(
                        repo,
                        subnet_id,
                        owner_type="port",
                        owner_id=port.id,
                        address=want.ip_address,
                    )
            else:
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
                ctx=ctx,
            )
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
            found = await uow.networks.list_ports(ctx.project_id, filters=filters, page=page)
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
                scoped = ctx if port.project_id == ctx.project_id else None
                groups = await sg_service.resolve_groups(
                    uow, scoped or _as_project(ctx, port.project_id), data.security_groups
                )
                await uow.networks.set_groups(port.id, [g.id for g in groups])
                queue(
                    uow,
                    project_id=port.project_id,
                    resource_type="port",
                    resource_id=port.id,
                    action="update",
                    ctx=ctx,
                )
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
            await disassociate_rows(uow, [port.id])
            await queue_port_delete(uow, port, ctx)
            result = (await details(uow.session, [port]))[0]
            await uow.commit()
        self._wakeup()
        return result


def _as_project(ctx: RequestContext, project_id: str) -> RequestContext:
    """The cloud admin acting on another project's port picks groups of that project."""
    return replace(ctx, project_id=project_id)

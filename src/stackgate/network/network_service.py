"""Network and subnet use cases (Neutron's /networks and /subnets): each one unit of work
with policy and quota; the cloud side is queued for the network worker."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.context import RequestContext
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.uow import UnitOfWork
from stackgate.identity.public import policy, quotas
from stackgate.network import ipam
from stackgate.network.errors import (
    NetworkInUse,
    NetworkNotFound,
    NotNetworkOwner,
    OverlappingSubnet,
    SubnetInUse,
    SubnetNotFound,
)
from stackgate.network.models import Network, Subnet
from stackgate.network.repository import NetworkRepository
from stackgate.network.schemas import NetworkCreate, NetworkUpdate, SubnetCreate, SubnetUpdate
from stackgate.network.service import (
    OPERATION_TIMEOUT,
    Status,
    deleting,
    ensure_private_network,
    network_usage,
    new_subnet,
    queue,
    supersede,
)


class NetworkUoW(UnitOfWork):
    networks: NetworkRepository

    def _attach(self, session: AsyncSession) -> None:
        self.networks = NetworkRepository(session)


class NetworkUseCases:
    """What the network-side services share: their sessions and the in-process worker."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        wakeup: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._wakeup = wakeup

    def uow(self) -> NetworkUoW:
        return NetworkUoW(self._sessionmaker)

    def wake(self) -> None:
        self._wakeup()


def may_see(ctx: RequestContext, network: Network) -> bool:
    return ctx.is_admin or network.shared or network.project_id == ctx.project_id


async def visible_network(uow: NetworkUoW, ctx: RequestContext, ref: str) -> Network:
    network = await uow.networks.network(ref)
    if network is None or not may_see(ctx, network) or await deleting(uow, network.id):
        raise NetworkNotFound(ref)
    return network


async def owned_network(uow: NetworkUoW, ctx: RequestContext, ref: str, what: str) -> Network:
    """A network the caller may change: its project's, or any for the cloud admin."""
    network = await visible_network(uow, ctx, ref)
    if not ctx.is_admin and network.project_id != ctx.project_id:
        raise NotNetworkOwner(network.id, what)
    return network


class NetworkService(NetworkUseCases):
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        wakeup: Callable[[], None] = lambda: None,
        operation_timeout: float = OPERATION_TIMEOUT,
    ) -> None:
        super().__init__(sessionmaker, wakeup=wakeup)
        self._timeout = operation_timeout

    # networks

    async def list_networks(
        self, ctx: RequestContext, *, name: str | None, status: str | None, page: PageRequest
    ) -> PageResult[Network]:
        """The project's networks and the shared ones; the project's `private` network is
        made on first use."""
        policy.enforce(ctx, "network:read")
        async with self.uow() as uow:
            made = await uow.networks.private_network(ctx.project_id) is None
            if made:
                await ensure_private_network(uow, ctx.project_id)
                await uow.commit()
            result = await uow.networks.list_networks(
                ctx.project_id, name=name, status=status, page=page
            )
        if made:
            self.wake()
        return result

    async def create_network(self, ctx: RequestContext, data: NetworkCreate) -> Network:
        """A network in BUILD until the worker has made it in the cloud."""
        policy.enforce(ctx, "network:write")
        if data.shared or data.external:
            policy.enforce(ctx, "network:external")
        async with self.uow() as uow:
            await ensure_private_network(uow, ctx.project_id)
            await quotas.enforce(uow, ctx.project_id, {"networks": 1}, network_usage)
            network = Network(
                project_id=ctx.project_id,
                name=data.name,
                description=data.description,
                shared=data.shared,
                external=data.external,
                admin_state_up=data.admin_state_up,
                status=Status.BUILD,
            )
            uow.networks.add(network)
            await uow.flush()
            self._queue(uow, ctx, network.project_id, "network", network.id, "create")
            await uow.commit()
        self.wake()
        return network

    async def get_network(self, ctx: RequestContext, network_id: str) -> Network:
        """One network of the project, or a shared one."""
        policy.enforce(ctx, "network:read")
        async with self.uow() as uow:
            return await visible_network(uow, ctx, network_id)

    async def update_network(
        self, ctx: RequestContext, network_id: str, data: NetworkUpdate
    ) -> Network:
        """Rename or describe a network (StackGate's record: nothing changes in the cloud)."""
        policy.enforce(ctx, "network:write")
        async with self.uow() as uow:
            network = await owned_network(uow, ctx, network_id, "change it")
            if data.name is not None:
                network.name = data.name
            if "description" in data.model_fields_set:
                network.description = data.description
            await uow.commit()
            return network

    async def delete_network(self, ctx: RequestContext, network_id: str) -> Network:
        """Queue the deletion of a network without ports (409 network_in_use otherwise); its
        subnets go with it, as in Neutron."""
        policy.enforce(ctx, "network:write")
        async with self.uow() as uow:
            network = await owned_network(uow, ctx, network_id, "delete it")
            ports = await uow.networks.count_ports(network.id)
            ports += await uow.networks.count_floating_ips(network.id)
            if ports:
                raise NetworkInUse(network.id, ports)
            for subnet in await uow.networks.subnets_of(network.id):
                await supersede(uow, subnet.id, "the network is being deleted")
            if not await supersede(uow, network.id, "superseded by delete"):
                self._queue(uow, ctx, network.project_id, "network", network.id, "delete")
            await uow.commit()
        self.wake()
        return network

    # subnets

    async def create_subnet(self, ctx: RequestContext, data: SubnetCreate) -> Subnet:
        """A subnet with Neutron's defaults (gateway first address, pool the rest); a CIDR
        overlapping another subnet of the network -> 409."""
        policy.enforce(ctx, "network:write")
        explicit_gateway = "gateway_ip" in data.model_fields_set
        plan = ipam.plan_subnet(
            data.cidr,
            gateway_ip=data.gateway_ip,
            no_gateway=explicit_gateway and data.gateway_ip is None,
            pool=(data.allocation_pool.start, data.allocation_pool.end)
            if data.allocation_pool
            else None,
        )
        async with self.uow() as uow:
            network = await owned_network(uow, ctx, data.network_id, "add subnets to it")
            for other in await uow.networks.subnets_of(network.id):
                if ipam.overlaps(plan.cidr, other.cidr):
                    raise OverlappingSubnet(plan.cidr, other.id)
            await quotas.enforce(uow, ctx.project_id, {"subnets": 1}, network_usage)
            subnet = new_subnet(
                network,
                plan,
                project_id=ctx.project_id,
                name=data.name or "",
                description=data.description,
                enable_dhcp=data.enable_dhcp,
            )
            uow.networks.add(subnet)
            await uow.flush()
            self._queue(uow, ctx, ctx.project_id, "subnet", subnet.id, "create")
            await uow.commit()
        self.wake()
        return subnet

    async def list_subnets(
        self, ctx: RequestContext, *, network_id: str | None, page: PageRequest
    ) -> PageResult[Subnet]:
        """Subnets of the networks the caller sees."""
        policy.enforce(ctx, "network:read")
        async with self.uow() as uow:
            return await uow.networks.list_subnets(ctx.project_id, network_id=network_id, page=page)

    async def _subnet(self, uow: NetworkUoW, ctx: RequestContext, subnet_id: str) -> Subnet:
        subnet = await uow.networks.subnet(subnet_id)
        if subnet is None:
            raise SubnetNotFound(subnet_id)
        network = await uow.networks.network(subnet.network_id)
        if network is None or not may_see(ctx, network) or await deleting(uow, subnet.id):
            raise SubnetNotFound(subnet_id)
        return subnet

    async def get_subnet(self, ctx: RequestContext, subnet_id: str) -> Subnet:
        """One subnet of a network the caller sees."""
        policy.enforce(ctx, "network:read")
        async with self.uow() as uow:
            return await self._subnet(uow, ctx, subnet_id)

    async def update_subnet(
        self, ctx: RequestContext, subnet_id: str, data: SubnetUpdate
    ) -> Subnet:
        """Rename a subnet."""
        policy.enforce(ctx, "network:write")
        async with self.uow() as uow:
            subnet = await self._subnet(uow, ctx, subnet_id)
            await owned_network(uow, ctx, subnet.network_id, "change its subnets")
            subnet.name = data.name
            await uow.commit()
            return subnet

    async def delete_subnet(self, ctx: RequestContext, subnet_id: str) -> Subnet:
        """Queue the deletion of a subnet with no address in use (409 subnet_in_use)."""
        policy.enforce(ctx, "network:write")
        async with self.uow() as uow:
            subnet = await self._subnet(uow, ctx, subnet_id)
            await owned_network(uow, ctx, subnet.network_id, "delete its subnets")
            used = await uow.networks.count_allocations(subnet.id)
            if used:
                raise SubnetInUse(subnet.id, used)
            if not await supersede(uow, subnet.id, "superseded by delete"):
                self._queue(
                    uow, ctx, subnet.project_id or ctx.project_id, "subnet", subnet.id, "delete"
                )
            await uow.commit()
        self.wake()
        return subnet

    def _queue(
        self,
        uow: UnitOfWork,
        ctx: RequestContext,
        project_id: str | None,
        resource_type: str,
        resource_id: str,
        action: str,
    ) -> None:
        queue(
            uow,
            project_id=project_id or ctx.project_id,
            resource_type=resource_type,
            resource_id=resource_id,
            action=action,
            ctx=ctx,
            timeout=self._timeout,
        )

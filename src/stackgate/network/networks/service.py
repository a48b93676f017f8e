"""Network and subnet use cases (Neutron's /networks and /subnets): each one unit of work
with policy and quota; the cloud side is queued for the network worker. Also the pieces other
use cases run inside their own unit of work: the project's `private` network made on first
use, network references of a server create, and the quota usage."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.context import RequestContext
from stackgate.core.errors import AmbiguousReference
from stackgate.core.ids import new_id
from stackgate.core.operations import OperationFactory
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.uow import UnitOfWork
from stackgate.identity.public import lock_project, policy, quotas
from stackgate.network.errors import ExternalNetworkForPorts, InvalidSubnet, UnknownNetworkReference
from stackgate.network.models import Network, Status, Subnet
from stackgate.network.networks.errors import (
    NetworkInUse,
    NetworkNotFound,
    NotNetworkOwner,
    OverlappingSubnet,
    SubnetInUse,
    SubnetNotFound,
)
from stackgate.network.networks.repository import NetworkRepository
from stackgate.network.networks.schemas import (
    NetworkCreate,
    NetworkUpdate,
    SubnetCreate,
    SubnetUpdate,
)
from stackgate.network.repository import deleting, supersede
from stackgate.network.seed import PRIVATE_CIDR, PRIVATE_NETWORK_NAME, PRIVATE_SUBNET_NAME
from stackgate.semantics import ipam


async def network_usage(uow: UnitOfWork, project_id: str) -> dict[str, int]:
    """networks, subnets, ports and floating_ips of the project (quota usage)."""
    return await NetworkRepository(uow.session).usage(project_id)


def plan_subnet(
    cidr: str,
    *,
    gateway_ip: str | None = None,
    no_gateway: bool = False,
    pool: tuple[str, str] | None = None,
) -> ipam.SubnetPlan:
    """Neutron's subnet rules and defaults, refusals as this feature's 422."""
    try:
        return ipam.plan_subnet(cidr, gateway_ip=gateway_ip, no_gateway=no_gateway, pool=pool)
    except ipam.InvalidSubnet as exc:
        raise InvalidSubnet(exc.field, exc.reason) from None


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


async def ensure_private_network(
    uow: UnitOfWork, project_id: str, *, operations: OperationFactory
) -> Network:
    """The project's `private` network (subnet `private-subnet`), made on first use with its
    create operations; one per project even under concurrency."""
    repo = NetworkRepository(uow.session)
    found = await repo.private_network(project_id)
    if found is not None:
        return found
    # Serialise with other first uses in this project; default_for is unique as a last guard.
    await lock_project(uow, project_id)
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
        plan_subnet(PRIVATE_CIDR),
        project_id=project_id,
        name=PRIVATE_SUBNET_NAME,
        enable_dhcp=True,
    )
    repo.add(subnet)
    await repo.flush()
    for kind, row_id in (("network", network.id), ("subnet", subnet.id)):
        uow.operations.add(
            operations.due_now(
                project_id=project_id, resource_type=kind, resource_id=row_id, action="create"
            )
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
            names = await repo.network_names(None if ctx.is_admin else ctx.project_id)
            raise UnknownNetworkReference("networks", ref, names)
        if len(matches) > 1:
            raise AmbiguousReference("networks", ref)
        if matches[0].external:
            raise ExternalNetworkForPorts("networks", ref)
        found.setdefault(matches[0].id, matches[0])
    return list(found.values())


class NetworkUoW(UnitOfWork):
    networks: NetworkRepository

    def _attach(self, session: AsyncSession) -> None:
        self.networks = NetworkRepository(session)


def may_see(ctx: RequestContext, network: Network) -> bool:
    return ctx.is_admin or network.shared or network.project_id == ctx.project_id


async def visible_network(uow: NetworkUoW, ctx: RequestContext, ref: str) -> Network:
    """A network the caller may see, by id or (as users think of them) by its name; a name
    several visible networks share must be given as the id."""
    network = await uow.networks.network(ref)
    if network is None:
        named = await uow.networks.find_networks(None if ctx.is_admin else ctx.project_id, ref)
        if len(named) > 1:
            raise AmbiguousReference("network_id", ref, "network")
        network = named[0] if named else None
    if network is None or not may_see(ctx, network) or await deleting(uow, network.id):
        raise NetworkNotFound(ref)
    return network


async def owned_network(uow: NetworkUoW, ctx: RequestContext, ref: str, what: str) -> Network:
    """A network the caller may change: its project's, or any for the cloud admin."""
    network = await visible_network(uow, ctx, ref)
    if not ctx.is_admin and network.project_id != ctx.project_id:
        raise NotNetworkOwner(network.id, what)
    return network


class NetworkService:
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

    def uow(self) -> NetworkUoW:
        return NetworkUoW(self._sessionmaker)

    def wake(self) -> None:
        self._wakeup()

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
                await ensure_private_network(uow, ctx.project_id, operations=self._operations)
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
            await ensure_private_network(uow, ctx.project_id, operations=self._operations)
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
            if ports:
                raise NetworkInUse(network.id, ports)
            now = self._operations.clock.now()
            for subnet in await uow.networks.subnets_of(network.id):
                await supersede(uow, subnet.id, "the network is being deleted", now=now)
            if not await supersede(uow, network.id, "superseded by delete", now=now):
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
        plan = plan_subnet(
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
            now = self._operations.clock.now()
            if not await supersede(uow, subnet.id, "superseded by delete", now=now):
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
        uow.operations.add(
            self._operations.due_now(
                project_id=project_id or ctx.project_id,
                resource_type=resource_type,
                resource_id=resource_id,
                action=action,
                user_id=ctx.user_id,
                request_id=ctx.request_id,
            )
        )

"""The simulated network proxy (`conn.network`): Neutron's API over the store.

Neutron answers synchronously, so nothing here is pending: what a call returns exists. The
rows a check depends on are locked first (the network for its ports and subnets, a port for
its floating IPs), so two processes sharing the store cannot both pass the same check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.ids import new_id
from stackgate.providers.network import (
    FloatingIPSpec,
    NetworkSpec,
    PortSpec,
    ProviderFloatingIP,
    ProviderNetwork,
    ProviderPort,
    ProviderRule,
    ProviderSecurityGroup,
    ProviderSubnet,
    RuleSpec,
    SecurityGroupSpec,
    SubnetSpec,
)
from stackgate.providers.simulator import floating_ips, ipam, ports, security_groups
from stackgate.providers.simulator.env import SimEnv
from stackgate.providers.simulator.lifecycle import servers_due, settle_due
from stackgate.providers.simulator.netcommon import (
    conflict,
    has_tags,
    network_dto,
    not_found,
    port_dto,
    subnet_dto,
)
from stackgate.providers.simulator.subnets import check_subnet, locked_network, subnets_of
from stackgate.providers.simulator.tables import (
    SimFloatingIP,
    SimIPAllocation,
    SimNetwork,
    SimPort,
    SimSubnet,
)

_MAC_TRIES = 8
T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]


class SimulatorNetwork:
    """Networks, subnets and ports here; security groups and floating IPs in their modules."""

    def __init__(self, env: SimEnv) -> None:
        self._env = env

    async def _call(self, name: str, work: Work[T], *, write: bool = True) -> T:
        env = self._env
        env.faults.before_call(name)
        result = await env.store.run(work, write=write)
        if write:
            env.faults.after_commit(name)
        return result

    async def _delegate(
        self, name: str, call: Callable[[], Awaitable[T]], *, write: bool = True
    ) -> T:
        self._env.faults.before_call(name)
        result = await call()
        if write:
            self._env.faults.after_commit(name)
        return result

    # Networks

    async def create_network(self, spec: NetworkSpec) -> ProviderNetwork:
        async def work(session: AsyncSession) -> ProviderNetwork:
            network = SimNetwork(
                id=new_id(),
                name=spec.name,
                project_id=spec.project_id,
                shared=spec.shared,
                external=spec.external,
                status="ACTIVE",
                tags=list(spec.tags),
                created_at=self._env.clock.now(),
            )
            session.add(network)
            await session.flush()
            return network_dto(network)

        return await self._call("create_network", work)

    async def get_network(self, network_id: str) -> ProviderNetwork:
        async def work(session: AsyncSession) -> ProviderNetwork:
            network = await session.get(SimNetwork, network_id)
            if network is None:
                raise not_found("Network", network_id)
            return network_dto(network)

        return await self._call("get_network", work, write=False)

    async def find_network(self, name: str) -> ProviderNetwork | None:
        """A network by name (shared ones first, then the oldest) or by id."""

        async def work(session: AsyncSession) -> ProviderNetwork | None:
            stmt = (
                select(SimNetwork)
                .where(SimNetwork.name == name)
                .order_by(SimNetwork.shared.desc(), SimNetwork.created_at, SimNetwork.id)
            )
            network = await session.scalar(stmt)
            if network is None:
                network = await session.get(SimNetwork, name)
            return None if network is None else network_dto(network)

        return await self._call("find_network", work, write=False)

    async def networks(self, *, tags: tuple[str, ...] = ()) -> list[ProviderNetwork]:
        async def work(session: AsyncSession) -> list[ProviderNetwork]:
            stmt = select(SimNetwork).order_by(SimNetwork.created_at, SimNetwork.id)
            rows = (await session.scalars(stmt)).all()
            return [network_dto(n) for n in rows if has_tags(n.tags, tags)]

        return await self._call("networks", work, write=False)

    async def delete_network(self, network_id: str) -> None:
        """NetworkInUse (409) while ports or floating IPs remain; its subnets go with it."""

        async def work(session: AsyncSession) -> None:
            network = await session.get(SimNetwork, network_id, with_for_update=True)
            if network is None:
                return
            ports = await session.scalar(
                select(func.count()).select_from(SimPort).where(SimPort.network_id == network_id)
            )
            fips = await session.scalar(
                select(func.count())
                .select_from(SimFloatingIP)
                .where(SimFloatingIP.network_id == network_id)
            )
            if ports or fips:
                raise conflict(
                    f"Unable to complete operation on network {network_id}. There are one or "
                    "more ports still in use on the network."
                )
            for subnet in await subnets_of(session, network_id):
                await session.delete(subnet)
            await session.delete(network)

        await self._call("delete_network", work)

    # Subnets

    async def create_subnet(self, spec: SubnetSpec) -> ProviderSubnet:
        async def work(session: AsyncSession) -> ProviderSubnet:
            await locked_network(session, spec.network_id)
            pools = check_subnet(spec, await subnets_of(session, spec.network_id))
            subnet = SimSubnet(
                id=new_id(),
                network_id=spec.network_id,
                name=spec.name,
                project_id=spec.project_id,
                cidr=str(ipam.parse_cidr(spec.cidr)),
                ip_version=spec.ip_version,
                gateway_ip=spec.gateway_ip,
                pools=pools,
                enable_dhcp=spec.enable_dhcp,
                tags=list(spec.tags),
                created_at=self._env.clock.now(),
            )
            session.add(subnet)
            await session.flush()
            return subnet_dto(subnet)

        return await self._call("create_subnet", work)

    async def subnets(
        self, *, network_id: str | None = None, tags: tuple[str, ...] = ()
    ) -> list[ProviderSubnet]:
        async def work(session: AsyncSession) -> list[ProviderSubnet]:
            stmt = select(SimSubnet).order_by(SimSubnet.created_at, SimSubnet.id)
            if network_id is not None:
                stmt = stmt.where(SimSubnet.network_id == network_id)
            rows = (await session.scalars(stmt)).all()
            return [subnet_dto(s) for s in rows if has_tags(s.tags, tags)]

        return await self._call("subnets", work, write=False)

    async def delete_subnet(self, subnet_id: str) -> None:
        """SubnetInUse (409) while any address of it is allocated."""

        async def work(session: AsyncSession) -> None:
            subnet = await session.get(SimSubnet, subnet_id)
            if subnet is None:
                return
            await locked_network(session, subnet.network_id)
            used = await session.scalar(
                select(func.count())
                .select_from(SimIPAllocation)
                .where(SimIPAllocation.subnet_id == subnet_id)
            )
            if used:
                raise conflict(
                    f"Unable to complete operation on subnet {subnet_id}: One or more ports "
                    "have an IP allocation from this subnet."
                )
            await session.delete(subnet)

        await self._call("delete_subnet", work)

    # Ports

    async def create_port(self, spec: PortSpec) -> ProviderPort:
        """Explicit fixed IPs must be inside their subnet and free (409); without any, one
        address from the network's first IPv4 subnet. No groups means the project's default."""
        return await self._delegate("create_port", lambda: ports.create(self._env, spec))

    async def _settled(self) -> None:
        """Apply due server operations first: a server gone or failed unbinds its ports."""
        env = self._env
        now = env.clock.now()

        async def read(session: AsyncSession) -> bool:
            return await servers_due(session, now)

        async def settle(session: AsyncSession) -> None:
            await settle_due(session, now)

        if await env.store.run(read):
            await env.store.run(settle, write=True)

    async def get_port(self, port_id: str) -> ProviderPort:
        async def work(session: AsyncSession) -> ProviderPort:
            port = await session.get(SimPort, port_id)
            if port is None:
                raise not_found("Port", port_id)
            return port_dto(port)

        self._env.faults.before_call("get_port")
        await self._settled()
        return await self._env.store.run(work)

    async def ports(
        self, *, tags: tuple[str, ...] = (), device_id: str | None = None
    ) -> list[ProviderPort]:
        async def work(session: AsyncSession) -> list[ProviderPort]:
            stmt = select(SimPort).order_by(SimPort.created_at, SimPort.id)
            if device_id is not None:
                stmt = stmt.where(SimPort.device_id == device_id)
            rows = (await session.scalars(stmt)).all()
            return [port_dto(p) for p in rows if has_tags(p.tags, tags)]

        self._env.faults.before_call("ports")
        await self._settled()
        return await self._env.store.run(work)

    async def update_port(
        self, port_id: str, *, security_group_ids: tuple[str, ...]
    ) -> ProviderPort:
        async def work(session: AsyncSession) -> ProviderPort:
            port = await session.get(SimPort, port_id, with_for_update=True)
            if port is None:
                raise not_found("Port", port_id)
            await security_groups.existing_groups(session, security_group_ids, lock=True)
            port.security_group_ids = list(dict.fromkeys(security_group_ids))
            await session.flush()
            return port_dto(port)

        return await self._call("update_port", work)

    async def delete_port(self, port_id: str) -> None:
        """Also disassociates the port's floating IPs, as Neutron does."""

        async def work(session: AsyncSession) -> None:
            port = await session.get(SimPort, port_id, with_for_update=True)
            if port is None:
                return
            await floating_ips.disassociate_port(session, port_id)
            await ipam.release(session, port_id=port_id)
            await session.delete(port)

        await self._call("delete_port", work)

    # Security groups (security_groups.py)

    async def create_security_group(self, spec: SecurityGroupSpec) -> ProviderSecurityGroup:
        """A new group comes with Neutron's two egress rules; `default` is reserved (400)."""
        return await self._delegate(
            "create_security_group", lambda: security_groups.create_group(self._env, spec)
        )

    async def find_security_group(
        self, name: str, *, project_id: str
    ) -> ProviderSecurityGroup | None:
        """A project's group by name; asking for `default` creates it on first use."""
        return await self._delegate(
            "find_security_group", lambda: security_groups.find_group(self._env, name, project_id)
        )

    async def security_groups(self, *, tags: tuple[str, ...] = ()) -> list[ProviderSecurityGroup]:
        return await self._delegate(
            "security_groups",
            write=False,
            call=lambda: security_groups.list_groups(self._env, tags),
        )

    async def delete_security_group(self, group_id: str) -> None:
        """SecurityGroupInUse (409) while a port uses it; a missing group is not an error."""
        await self._delegate(
            "delete_security_group", lambda: security_groups.delete_group(self._env, group_id)
        )

    async def create_security_group_rule(self, spec: RuleSpec) -> ProviderRule:
        """An identical rule -> ProviderConflict (SecurityGroupRuleExists)."""
        return await self._delegate(
            "create_security_group_rule", lambda: security_groups.create_rule(self._env, spec)
        )

    async def delete_security_group_rule(self, rule_id: str) -> None:
        await self._delegate(
            "delete_security_group_rule", lambda: security_groups.delete_rule(self._env, rule_id)
        )

    # Floating IPs (floating_ips.py)

    async def create_ip(self, spec: FloatingIPSpec) -> ProviderFloatingIP:
        return await self._delegate("create_ip", lambda: floating_ips.create(self._env, spec))

    async def get_ip(self, floating_ip_id: str) -> ProviderFloatingIP:
        return await self._delegate(
            "get_ip", write=False, call=lambda: floating_ips.get(self._env, floating_ip_id)
        )

    async def ips(self, *, tags: tuple[str, ...] = ()) -> list[ProviderFloatingIP]:
        return await self._delegate(
            "ips", write=False, call=lambda: floating_ips.listing(self._env, tags)
        )

    async def update_ip(
        self, floating_ip_id: str, *, port_id: str | None, fixed_ip_address: str | None = None
    ) -> ProviderFloatingIP:
        """Associate (port_id) or disassociate (None)."""
        return await self._delegate(
            "update_ip",
            lambda: floating_ips.set_port(self._env, floating_ip_id, port_id, fixed_ip_address),
        )

    async def delete_ip(self, floating_ip_id: str) -> None:
        await self._delegate("delete_ip", lambda: floating_ips.delete(self._env, floating_ip_id))

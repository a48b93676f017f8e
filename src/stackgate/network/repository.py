"""Network storage: networks, subnets, address allocations, ports and floating IPs. Every
tenant read starts from the caller's project (plus shared networks); `*_unscoped` reads are
for the worker and the cloud admin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.compute.models import Server
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.repository import like_pattern, paginate
from stackgate.network.models import (
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    PortSecurityGroup,
    SecurityGroup,
    Subnet,
)

NETWORK_SORTS = {"created_at": Network.created_at, "name": Network.name, "status": Network.status}
SUBNET_SORTS = {"created_at": Subnet.created_at, "name": Subnet.name, "cidr": Subnet.cidr}
PORT_SORTS = {"created_at": Port.created_at, "name": Port.name, "status": Port.status}
FIP_SORTS = {
    "created_at": FloatingIP.created_at,
    "floating_ip_address": FloatingIP.floating_ip_address,
    "status": FloatingIP.status,
}


@dataclass(frozen=True, slots=True)
class PortFilters:
    network_id: str | None = None
    device_id: str | None = None
    status: str | None = None


class NetworkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: object) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()

    # networks

    def _visible_networks(self, project_id: str | None) -> Select[Any]:
        stmt = select(Network)
        if project_id is not None:
            stmt = stmt.where(or_(Network.project_id == project_id, Network.shared.is_(True)))
        return stmt

    async def network(self, network_id: str) -> Network | None:
        """Any project's network (worker, cloud admin), fresh from the database."""
        return await self.session.get(Network, network_id, populate_existing=True)

    async def find_networks(self, project_id: str | None, ref: str) -> Sequence[Network]:
        """Visible networks with this id, else with this name (None: every project's)."""
        stmt = self._visible_networks(project_id)
        by_id = (await self.session.scalars(stmt.where(Network.id == ref))).all()
        if by_id:
            return by_id
        return (await self.session.scalars(stmt.where(Network.name == ref))).all()

    async def private_network(self, project_id: str) -> Network | None:
        stmt = select(Network).where(Network.default_for == project_id)
        return (await self.session.scalars(stmt)).first()

    async def list_networks(
        self, project_id: str, *, name: str | None, status: str | None, page: PageRequest
    ) -> PageResult[Network]:
        stmt = self._visible_networks(project_id)
        if name:
            stmt = stmt.where(Network.name.ilike(like_pattern(name), escape="\\"))
        if status:
            stmt = stmt.where(Network.status == status)
        return await paginate(
            self.session, stmt, columns=NETWORK_SORTS, id_column=Network.id, request=page
        )

    async def remove_network(self, network: Network) -> None:
        await self.session.execute(delete(Subnet).where(Subnet.network_id == network.id))
        await self.session.delete(network)

    # subnets

    async def subnet(self, subnet_id: str, *, lock: bool = False) -> Subnet | None:
        """A subnet; `lock` holds its row until the transaction ends (SELECT ... FOR UPDATE),
        so address picks on one subnet serialise."""
        stmt = (
            select(Subnet).where(Subnet.id == subnet_id).execution_options(populate_existing=True)
        )
        if lock:
            stmt = stmt.with_for_update()
            if self.session.sync_session.get_bind().dialect.name == "sqlite":
                # SQLite has no row locks: a write takes the database lock before the read.
                await self.session.execute(
                    update(Subnet)
                    .where(Subnet.id == subnet_id)
                    .values(status=Subnet.status)
                    .execution_options(synchronize_session=False)
                )
        return (await self.session.scalars(stmt)).first()

    async def subnets_of(self, network_id: str) -> Sequence[Subnet]:
        stmt = (
            select(Subnet)
            .where(Subnet.network_id == network_id)
            .order_by(Subnet.created_at, Subnet.id)
        )
        return (await self.session.scalars(stmt)).all()

    async def list_subnets(
        self, project_id: str, *, network_id: str | None, page: PageRequest
    ) -> PageResult[Subnet]:
        visible = self._visible_networks(project_id).with_only_columns(Network.id)
        stmt = select(Subnet).where(Subnet.network_id.in_(visible))
        if network_id:
            stmt = stmt.where(Subnet.network_id == network_id)
        return await paginate(
            self.session, stmt, columns=SUBNET_SORTS, id_column=Subnet.id, request=page
        )

    async def remove_subnet(self, subnet: Subnet) -> None:
        await self.session.delete(subnet)

    # address allocations

    async def used_addresses(self, subnet_id: str) -> list[str]:
        stmt = select(IPAllocation.ip_address).where(IPAllocation.subnet_id == subnet_id)
        return list((await self.session.scalars(stmt)).all())

    async def address_taken(self, subnet_id: str, address: str) -> bool:
        row = await self.session.get(IPAllocation, (subnet_id, address))
        return row is not None

    async def count_allocations(self, subnet_id: str) -> int:
        stmt = select(func.count()).where(IPAllocation.subnet_id == subnet_id)
        return int(await self.session.scalar(stmt) or 0)

    async def allocations_of(self, owner_ids: Sequence[str]) -> Sequence[IPAllocation]:
        if not owner_ids:
            return []
        stmt = (
            select(IPAllocation)
            .where(IPAllocation.owner_id.in_(owner_ids))
            .order_by(IPAllocation.subnet_id, IPAllocation.ip_address)
        )
        return (await self.session.scalars(stmt)).all()

    async def release(self, owner_id: str) -> None:
        await self.session.execute(delete(IPAllocation).where(IPAllocation.owner_id == owner_id))

    # ports

    async def port(self, port_id: str) -> Port | None:
        return await self.session.get(Port, port_id, populate_existing=True)

    async def list_ports(
        self, project_id: str, *, filters: PortFilters, page: PageRequest
    ) -> PageResult[Port]:
        stmt = select(Port).where(Port.project_id == project_id)
        if filters.network_id:
            stmt = stmt.where(Port.network_id == filters.network_id)
        if filters.device_id:
            stmt = stmt.where(Port.device_id == filters.device_id)
        if filters.status:
            stmt = stmt.where(Port.status == filters.status)
        return await paginate(
            self.session, stmt, columns=PORT_SORTS, id_column=Port.id, request=page
        )

    async def ports_of_servers(self, server_ids: Sequence[str]) -> Sequence[Port]:
        if not server_ids:
            return []
        stmt = select(Port).where(Port.device_id.in_(server_ids)).order_by(Port.created_at, Port.id)
        return (await self.session.scalars(stmt)).all()

    async def count_ports(self, network_id: str) -> int:
        stmt = select(func.count()).where(Port.network_id == network_id)
        return int(await self.session.scalar(stmt) or 0)

    async def remove_port(self, port: Port) -> None:
        await self.session.execute(
            delete(PortSecurityGroup).where(PortSecurityGroup.port_id == port.id)
        )
        await self.release(port.id)
        await self.session.delete(port)

    async def groups_of(self, port_ids: Sequence[str]) -> dict[str, list[SecurityGroup]]:
        """Each port's security groups, by name."""
        found: dict[str, list[SecurityGroup]] = {pid: [] for pid in port_ids}
        if not port_ids:
            return found
        stmt = (
            select(PortSecurityGroup.port_id, SecurityGroup)
            .join(SecurityGroup, SecurityGroup.id == PortSecurityGroup.security_group_id)
            .where(PortSecurityGroup.port_id.in_(port_ids))
            .order_by(SecurityGroup.name, SecurityGroup.id)
        )
        for port_id, group in (await self.session.execute(stmt)).all():
            found[port_id].append(group)
        return found

    async def set_groups(self, port_id: str, group_ids: Sequence[str]) -> None:
        await self.session.execute(
            delete(PortSecurityGroup).where(PortSecurityGroup.port_id == port_id)
        )
        for group_id in dict.fromkeys(group_ids):
            self.session.add(PortSecurityGroup(port_id=port_id, security_group_id=group_id))

    # floating IPs

    async def floating_ip(self, fip_id: str) -> FloatingIP | None:
        return await self.session.get(FloatingIP, fip_id, populate_existing=True)

    async def list_floating_ips(
        self, project_id: str, *, status: str | None, port_id: str | None, page: PageRequest
    ) -> PageResult[FloatingIP]:
        stmt = select(FloatingIP).where(FloatingIP.project_id == project_id)
        if status:
            stmt = stmt.where(FloatingIP.status == status)
        if port_id:
            stmt = stmt.where(FloatingIP.port_id == port_id)
        return await paginate(
            self.session, stmt, columns=FIP_SORTS, id_column=FloatingIP.id, request=page
        )

    async def floating_ips_on(self, port_ids: Sequence[str]) -> Sequence[FloatingIP]:
        if not port_ids:
            return []
        stmt = select(FloatingIP).where(FloatingIP.port_id.in_(port_ids))
        return (await self.session.scalars(stmt)).all()

    async def count_floating_ips(self, network_id: str) -> int:
        stmt = select(func.count()).where(FloatingIP.floating_network_id == network_id)
        return int(await self.session.scalar(stmt) or 0)

    async def remove_floating_ip(self, fip: FloatingIP) -> None:
        await self.release(fip.id)
        await self.session.delete(fip)

    async def server_owner(self, server_id: str) -> str | None:
        """The project of a live server, or None (floating IP association checks it)."""
        server = await self.session.get(Server, server_id)
        if server is None or server.status == "DELETED":
            return None
        return server.project_id

    async def floating_ip_on(self, port_id: str, fixed_ip: str) -> FloatingIP | None:
        stmt = select(FloatingIP).where(
            FloatingIP.port_id == port_id, FloatingIP.fixed_ip_address == fixed_ip
        )
        return (await self.session.scalars(stmt)).first()

    # quota usage

    async def usage(self, project_id: str) -> dict[str, int]:
        """networks, subnets, ports and floating_ips the project has made; the `private`
        network made for it on first use (and its subnet) is the platform's, not counted."""
        own = select(Network.id).where(
            Network.project_id == project_id, Network.default_for.is_(None)
        )
        counts = {
            "networks": select(func.count()).select_from(own.subquery()),
            "subnets": select(func.count()).where(
                Subnet.project_id == project_id, Subnet.network_id.in_(own)
            ),
            "ports": select(func.count()).where(Port.project_id == project_id),
            "floating_ips": select(func.count()).where(FloatingIP.project_id == project_id),
        }
        return {name: int(await self.session.scalar(stmt) or 0) for name, stmt in counts.items()}

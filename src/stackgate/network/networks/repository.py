"""Network, subnet and address storage. Every tenant read starts from the caller's project
(plus shared networks); the unscoped reads are for the worker and the cloud admin."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.repository import like_pattern, paginate
from stackgate.network.errors import InvalidAddress, IpAddressInUse, IpExhausted, NoSubnet
from stackgate.network.models import FloatingIP, IPAllocation, Network, Port, Subnet
from stackgate.semantics import ipam

NETWORK_SORTS = {"created_at": Network.created_at, "name": Network.name, "status": Network.status}
SUBNET_SORTS = {"created_at": Subnet.created_at, "name": Subnet.name, "cidr": Subnet.cidr}
_rng = random.SystemRandom()


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

    async def names_of(self, network_ids: Sequence[str]) -> dict[str, str]:
        """Network names by id, in one query (server bodies group addresses by them)."""
        if not network_ids:
            return {}
        stmt = select(Network.id, Network.name).where(Network.id.in_(set(network_ids)))
        return {row_id: name for row_id, name in (await self.session.execute(stmt)).all()}

    async def find_networks(self, project_id: str | None, ref: str) -> Sequence[Network]:
        """Visible networks with this id, else with this name (None: every project's)."""
        stmt = self._visible_networks(project_id)
        by_id = (await self.session.scalars(stmt.where(Network.id == ref))).all()
        if by_id:
            return by_id
        return (await self.session.scalars(stmt.where(Network.name == ref))).all()

    async def network_names(self, project_id: str | None) -> Sequence[str]:
        """The names of the networks visible to a project (None: every project's)."""
        visible = self._visible_networks(project_id).subquery()
        return (await self.session.scalars(select(visible.c.name))).all()

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

    async def count_ports(self, network_id: str) -> int:
        """Ports and floating IPs on the network (either keeps it from being deleted)."""
        ports = select(func.count()).where(Port.network_id == network_id)
        fips = select(func.count()).where(FloatingIP.floating_network_id == network_id)
        return int(await self.session.scalar(ports) or 0) + int(
            await self.session.scalar(fips) or 0
        )

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

    async def first_ipv4_subnet(self, network: Network) -> Subnet:
        """Where a port or floating IP gets its address when none is asked for."""
        for subnet in await self.subnets_of(network.id):
            if subnet.ip_version == 4:
                return subnet
        raise NoSubnet(network.id)

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

    async def allocate(
        self,
        subnet_id: str,
        *,
        owner_type: str,
        owner_id: str,
        address: str | None = None,
        field_name: str = "fixed_ips",
    ) -> str:
        """An address of the subnet for its owner: the one asked for, else a free one. The
        subnet row is locked first, so concurrent picks on one subnet take turns; the
        allocation's primary key is the guarantee."""
        subnet = await self.subnet(subnet_id, lock=True)
        assert subnet is not None
        if address is not None:
            try:
                chosen = ipam.check_requested(
                    address, cidr=subnet.cidr, gateway_ip=subnet.gateway_ip, field=field_name
                )
            except ipam.InvalidAddress as exc:
                raise InvalidAddress(exc.field, exc.reason) from None
            if await self.session.get(IPAllocation, (subnet.id, chosen)) is not None:
                raise IpAddressInUse(chosen, subnet.id)
        else:
            stmt = select(IPAllocation.ip_address).where(IPAllocation.subnet_id == subnet.id)
            used = list((await self.session.scalars(stmt)).all())
            picked = ipam.pick_free(
                subnet.pool_start, subnet.pool_end, used, gateway_ip=subnet.gateway_ip, rng=_rng
            )
            if picked is None:
                raise IpExhausted(subnet.network_id)
            chosen = picked
        try:
            async with self.session.begin_nested():
                self.session.add(
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

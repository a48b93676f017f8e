"""Port storage, and the one writer of the port/security-group link table."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.repository import paginate
from stackgate.network.models import Port, PortSecurityGroup, SecurityGroup
from stackgate.network.repository import release_addresses

PORT_SORTS = {"created_at": Port.created_at, "name": Port.name, "status": Port.status}


@dataclass(frozen=True, slots=True)
class PortFilters:
    network_id: str | None = None
    device_id: str | None = None
    status: str | None = None


class PortRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Port) -> None:
        self.session.add(row)

    async def get(self, port_id: str) -> Port | None:
        """Any project's port, fresh from the database."""
        return await self.session.get(Port, port_id, populate_existing=True)

    async def list(
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

    async def of_servers(self, server_ids: Sequence[str]) -> Sequence[Port]:
        """The ports bound to these servers (device_id), oldest first."""
        if not server_ids:
            return []
        stmt = select(Port).where(Port.device_id.in_(server_ids)).order_by(Port.created_at, Port.id)
        return (await self.session.scalars(stmt)).all()

    async def remove(self, port: Port) -> None:
        """The port, its group links and its addresses (the cloud has deleted it)."""
        await self.session.execute(
            delete(PortSecurityGroup).where(PortSecurityGroup.port_id == port.id)
        )
        await release_addresses(self.session, port.id)
        await self.session.delete(port)

    # security group links

    async def groups_of(self, port_ids: Sequence[str]) -> dict[str, builtins.list[SecurityGroup]]:
        """Each port's security groups, by name, in one query for all the ports."""
        found: dict[str, builtins.list[SecurityGroup]] = {pid: [] for pid in port_ids}
        if not port_ids:
            return found
        stmt = (
            select(PortSecurityGroup.port_id, SecurityGroup)
            .join(SecurityGroup, SecurityGroup.id == PortSecurityGroup.security_group_id)
            .where(PortSecurityGroup.port_id.in_(list(port_ids)))
            .order_by(SecurityGroup.name, SecurityGroup.id)
        )
        for port_id, group in (await self.session.execute(stmt)).all():
            found[port_id].append(group)
        return found

    async def set_groups(self, port_id: str, group_ids: Sequence[str]) -> None:
        """Link exactly these groups to the port (order-insensitive; duplicates collapse):
        only the links that change are written."""
        stmt = select(PortSecurityGroup.security_group_id).where(
            PortSecurityGroup.port_id == port_id
        )
        current = set((await self.session.scalars(stmt)).all())
        wanted = set(group_ids)
        gone = current - wanted
        if gone:
            await self.session.execute(
                delete(PortSecurityGroup)
                .where(
                    PortSecurityGroup.port_id == port_id,
                    PortSecurityGroup.security_group_id.in_(gone),
                )
                .execution_options(synchronize_session=False)
            )
        for gid in sorted(wanted - current):
            self.session.add(PortSecurityGroup(port_id=port_id, security_group_id=gid))

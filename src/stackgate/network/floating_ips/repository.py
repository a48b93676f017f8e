"""Floating IP storage; tenant reads start from the caller's project."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.repository import paginate
from stackgate.network.models import FloatingIP
from stackgate.network.repository import release_addresses

FIP_SORTS = {
    "created_at": FloatingIP.created_at,
    "floating_ip_address": FloatingIP.floating_ip_address,
    "status": FloatingIP.status,
}


class FloatingIPRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: FloatingIP) -> None:
        self.session.add(row)

    async def get(self, fip_id: str) -> FloatingIP | None:
        """Any project's floating IP, fresh from the database."""
        return await self.session.get(FloatingIP, fip_id, populate_existing=True)

    async def list(
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

    async def on_fixed_ip(self, port_id: str, fixed_ip: str) -> FloatingIP | None:
        stmt = select(FloatingIP).where(
            FloatingIP.port_id == port_id, FloatingIP.fixed_ip_address == fixed_ip
        )
        return (await self.session.scalars(stmt)).first()

    async def remove(self, fip: FloatingIP) -> None:
        await release_addresses(self.session, fip.id)
        await self.session.delete(fip)

"""Server storage; every statement starts from the caller's project (tenancy is row-level)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.compute.models import Server
from stackgate.core.operations import Operation, OpState
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.repository import like_pattern, paginate
from stackgate.core.uow import UnitOfWork
from stackgate.semantics.nova import Status

SERVER_SORTS = {
    "created_at": Server.created_at,
    "updated_at": Server.updated_at,
    "name": Server.name,
    "status": Server.status,
}


@dataclass(frozen=True, slots=True)
class ServerFilters:
    statuses: tuple[str, ...] = ()
    name: str | None = None
    flavor: str | None = None
    image: str | None = None


class ServerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _scoped(self, project_id: str) -> Select[Any]:
        return select(Server).where(Server.project_id == project_id)

    async def get(self, project_id: str, server_id: str) -> Server | None:
        """A server of the project (deleted ones included), or None."""
        # A primary-key get (cached statement) then the tenancy check: cheaper than a new
        # filtered select on the hottest read path, and just as scoped.
        server = await self.session.get(Server, server_id)
        return server if server is not None and server.project_id == project_id else None

    async def get_unscoped(self, server_id: str) -> Server | None:
        """Any project's server: for the worker and the reconciler only."""
        return await self.session.get(Server, server_id, populate_existing=True)

    async def list(
        self, project_id: str, *, filters: ServerFilters, page: PageRequest
    ) -> PageResult[Server]:
        stmt = self._scoped(project_id)
        if filters.statuses:
            stmt = stmt.where(Server.status.in_(filters.statuses))
        else:
            # Soft-deleted rows stay for audit but leave lists unless asked for.
            stmt = stmt.where(Server.status != Status.DELETED.value)
        if filters.name:
            stmt = stmt.where(Server.name.ilike(like_pattern(filters.name), escape="\\"))
        if filters.flavor:
            stmt = stmt.where(
                or_(Server.flavor_id == filters.flavor, Server.flavor_name == filters.flavor)
            )
        if filters.image:
            stmt = stmt.where(
                or_(Server.image_id == filters.image, Server.image_name == filters.image)
            )
        return await paginate(
            self.session, stmt, columns=SERVER_SORTS, id_column=Server.id, request=page
        )

    def add(self, server: Server) -> None:
        self.session.add(server)

    async def count_using(self, *, flavor_id: str | None, image_id: str | None) -> int:
        """Live servers (any project) built from a flavor or an image."""
        stmt = select(func.count()).select_from(Server).where(Server.status != Status.DELETED.value)
        if flavor_id is not None:
            stmt = stmt.where(Server.flavor_id == flavor_id)
        if image_id is not None:
            stmt = stmt.where(Server.image_id == image_id)
        return int(await self.session.scalar(stmt) or 0)

    async def usage(self, project_id: str) -> dict[str, int]:
        """instances, cores and ram of the project's servers that are not deleted."""
        stmt = select(
            func.count(),
            func.coalesce(func.sum(Server.vcpus), 0),
            func.coalesce(func.sum(Server.ram_mb), 0),
        ).where(Server.project_id == project_id, Server.status != Status.DELETED.value)
        row = (await self.session.execute(stmt)).one()
        return {"instances": int(row[0]), "cores": int(row[1]), "ram": int(row[2])}

    async def stuck(self, *, limit: int) -> Sequence[Server]:
        """Servers showing a task although no operation drives them (reconciler input)."""
        open_ops = select(Operation.resource_id).where(Operation.state == OpState.PENDING)
        stmt = (
            select(Server)
            .where(Server.task_state.is_not(None), Server.id.not_in(open_ops))
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()


class ComputeUoW(UnitOfWork):
    """The unit of work of every compute use case and worker step."""

    servers: ServerRepository

    def _attach(self, session: AsyncSession) -> None:
        self.servers = ServerRepository(session)

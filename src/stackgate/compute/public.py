"""What other features may use of compute; nothing else of it is imported from outside.

catalog asks whether a flavor or image is in use, identity's quotas what a project's servers
use, network whose a server is before it points a floating IP at it (handed to it by the
composition root, since network may not import compute).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.compute.models import Server
from stackgate.compute.repository import ServerRepository
from stackgate.core.uow import UnitOfWork
from stackgate.semantics.nova import Status

__all__ = ["project_usage", "server_project", "servers_using"]


async def servers_using(
    uow: UnitOfWork, *, flavor_id: str | None = None, image_id: str | None = None
) -> int:
    """Live servers built from a flavor or image (the catalog's in-use check)."""
    return await ServerRepository(uow.session).count_using(flavor_id=flavor_id, image_id=image_id)


async def project_usage(uow: UnitOfWork, project_id: str) -> dict[str, int]:
    """What a project's live servers use, per quota resource (instances, cores, ram)."""
    return await ServerRepository(uow.session).usage(project_id)


async def server_project(session: AsyncSession, server_id: str) -> str | None:
    """The project of a live server, or None."""
    server = await session.get(Server, server_id)
    if server is None or server.status == Status.DELETED:
        return None
    return server.project_id

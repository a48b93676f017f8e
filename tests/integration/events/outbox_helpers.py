"""Reading the outbox in tests."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from stackgate.bootstrap import Container
from stackgate.core.outbox import OutboxEvent


async def outbox(container: Container, resource_id: str | None = None) -> Sequence[OutboxEvent]:
    """Committed outbox rows (of one resource), in relay order."""
    async with container.sessionmaker() as session:
        stmt = select(OutboxEvent).order_by(OutboxEvent.id)
        if resource_id is not None:
            stmt = stmt.where(OutboxEvent.resource_id == resource_id)
        return (await session.scalars(stmt)).all()


async def types_of(container: Container, resource_id: str) -> list[str]:
    return [row.event_type for row in await outbox(container, resource_id)]


async def unpublished(container: Container) -> int:
    async with container.sessionmaker() as session:
        stmt = select(func.count()).where(OutboxEvent.published_at.is_(None))
        return int(await session.scalar(stmt) or 0)

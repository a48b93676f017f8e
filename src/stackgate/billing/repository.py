"""Every SQL statement of billing. Flushes, never commits (the service owns the transaction).

Insert-if-absent is dialect-specific (ON CONFLICT DO NOTHING on PostgreSQL and SQLite,
INSERT IGNORE on MySQL/MariaDB), kept here behind one function with those three branches.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, insert, or_, select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from stackgate.billing.models import Order, UsageEvent, UsagePeriod, UsageResource


def _insert_ignoring(session: AsyncSession, table: Table, key: str) -> Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=[key])
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=[key])
    if dialect in ("mysql", "mariadb"):
        return mysql.insert(table).prefix_with("IGNORE")
    raise NotImplementedError(f"insert-if-absent on {dialect}")


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_if_absent(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert orders whose message_id is not stored yet (a redelivery changes nothing)."""
        if rows:
            statement = _insert_ignoring(self.session, Order.__table__, "message_id")  # type: ignore[arg-type]
            await self.session.execute(statement, list(rows))

    async def list(self, *, user_id: str | None, offset: int, limit: int) -> list[Order]:
        statement = select(Order).order_by(Order.id).offset(offset).limit(limit)
        if user_id is not None:
            statement = statement.where(Order.user_id == user_id)
        return list((await self.session.scalars(statement)).all())

    async def count(self, *, user_id: str | None) -> int:
        statement = select(func.count()).select_from(Order)
        if user_id is not None:
            statement = statement.where(Order.user_id == user_id)
        return int((await self.session.scalar(statement)) or 0)


class UsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_events_if_absent(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            statement = _insert_ignoring(self.session, UsageEvent.__table__, "event_id")  # type: ignore[arg-type]
            await self.session.execute(statement, list(rows))

    async def lock_resource(
        self, *, resource_id: str, resource_type: str, project_id: str | None, now: datetime
    ) -> None:
        """Create the resource's row if needed and lock it until the transaction ends."""
        row = {
            "resource_id": resource_id,
            "resource_type": resource_type,
            "project_id": project_id,
            "updated_at": now,
        }
        await self.session.execute(
            _insert_ignoring(self.session, UsageResource.__table__, "resource_id"),  # type: ignore[arg-type]
            [row],
        )
        await self.session.execute(
            select(UsageResource.resource_id)
            .where(UsageResource.resource_id == resource_id)
            .with_for_update()
        )

    async def events_of(self, resource_id: str) -> list[UsageEvent]:
        statement = select(UsageEvent).where(UsageEvent.resource_id == resource_id)
        return list((await self.session.scalars(statement)).all())

    async def replace_periods(self, resource_id: str, periods: Sequence[dict[str, Any]]) -> None:
        await self.session.execute(
            delete(UsagePeriod).where(UsagePeriod.resource_id == resource_id)
        )
        if periods:
            await self.session.execute(insert(UsagePeriod), list(periods))

    async def periods_of_project(
        self, project_id: str, *, start: datetime, end: datetime
    ) -> list[UsagePeriod]:
        """The periods of a project that overlap [start, end)."""
        statement = (
            select(UsagePeriod)
            .where(
                UsagePeriod.project_id == project_id,
                UsagePeriod.started_at < end,
                or_(UsagePeriod.ended_at.is_(None), UsagePeriod.ended_at > start),
            )
            .order_by(UsagePeriod.resource_id, UsagePeriod.started_at)
        )
        return list((await self.session.scalars(statement)).all())

"""Operation records: the durable to-do list the worker drives, and the instance action log.

The API writes one row per accepted action in the same transaction as the desired state; the
worker claims rows with a lease, so a crash anywhere leaves a row to resume from.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from stackgate.core.clock import Clock, utcnow
from stackgate.core.db import Base, IdMixin
from stackgate.core.ids import new_id


class OpState(StrEnum):
    PENDING = "pending"
    DONE = "done"


class OpResult(StrEnum):
    SUCCESS = "Success"
    ERROR = "Error"
    CANCELLED = "Cancelled"


class Operation(IdMixin, Base):
    __tablename__ = "operation"
    __table_args__ = (
        Index("ix_operation_ready", "state", "next_attempt_at"),
        Index("ix_operation_resource", "resource_id", "created_at"),
    )

    project_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str | None] = mapped_column(String(36))
    request_id: Mapped[str | None] = mapped_column(String(128))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default=OpState.PENDING)
    phase: Mapped[str] = mapped_column(String(32), default="submit")
    result: Mapped[str | None] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime] = mapped_column()
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    @classmethod
    def due_now(
        cls,
        *,
        project_id: str,
        resource_type: str,
        resource_id: str,
        action: str,
        now: datetime,
        timeout: timedelta,
        params: dict[str, Any] | None = None,
        user_id: str | None = None,
        request_id: str | None = None,
    ) -> Operation:
        """A new operation, ready for the worker at once and failed if not done by `timeout`."""
        return cls(
            project_id=project_id,
            user_id=user_id,
            request_id=request_id,
            resource_type=resource_type,
            resource_id=resource_id,
            action=action,
            params=params or {},
            created_at=now,
            next_attempt_at=now,
            deadline_at=now + timeout,
        )

    def release(self) -> None:
        """Let go of the lease: the next claim (by any worker) takes the next step."""
        self.lease_owner = None
        self.lease_until = None

    def reschedule(self, at: datetime, message: str | None = None) -> None:
        """Another step is needed at `at`."""
        self.next_attempt_at = at
        self.release()
        if message:
            self.message = message

    def finish(self, result: OpResult, message: str | None = None, *, now: datetime) -> None:
        self.state = OpState.DONE
        self.result = result
        self.message = message
        self.finished_at = now
        self.lease_owner = None
        self.lease_until = None

    def cancel(self, message: str, *, now: datetime) -> None:
        """Ended by a request (a delete, a hard reboot). A worker may be inside a step of it
        right now, so its lease stays until that step ends: a delete waits for it."""
        self.state = OpState.DONE
        self.result = OpResult.CANCELLED
        self.message = message
        self.finished_at = now


@dataclass(frozen=True, slots=True)
class OperationFactory:
    """Queues operations with the configured deadline and the injected clock: the one place a
    use case gets an operation from, so no feature carries its own timeout default."""

    clock: Clock
    timeout: timedelta

    def due_now(
        self,
        *,
        project_id: str,
        resource_type: str,
        resource_id: str,
        action: str,
        params: dict[str, Any] | None = None,
        user_id: str | None = None,
        request_id: str | None = None,
        now: datetime | None = None,
    ) -> Operation:
        """A new operation, ready at once; `now` when the caller has already read the clock
        for the same transaction (so the row and its operation carry one instant)."""
        return Operation.due_now(
            project_id=project_id,
            resource_type=resource_type,
            resource_id=resource_id,
            action=action,
            now=now or self.clock.now(),
            timeout=self.timeout,
            params=params,
            user_id=user_id,
            request_id=request_id,
        )


@dataclass(frozen=True, slots=True)
class Queued:
    """An operation a request queued: its id, and the resource it works on."""

    id: str
    resource_id: str


# The operations the current request has queued (None outside a request), so its answer can
# link to the one it started (core/middleware.py, Operation-Location).
_queued: ContextVar[list[Queued] | None] = ContextVar("stackgate_queued_operations", default=None)


@contextmanager
def collecting_queued() -> Iterator[list[Queued]]:
    """Collect, in order, the operations queued inside the block (one request)."""
    queued: list[Queued] = []
    token = _queued.set(queued)
    try:
        yield queued
    finally:
        _queued.reset(token)


class OperationRepository:
    """Storage of operations; the claim is atomic on every dialect."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, op: Operation) -> Operation:
        if op.id is None:
            op.id = new_id()
        self.session.add(op)
        if (queued := _queued.get()) is not None:
            queued.append(Queued(op.id, op.resource_id))
        return op

    async def get(self, op_id: str) -> Operation | None:
        return await self.session.get(Operation, op_id, populate_existing=True)

    async def list_for_resource(self, resource_id: str) -> Sequence[Operation]:
        stmt = (
            select(Operation)
            .where(Operation.resource_id == resource_id)
            .order_by(Operation.created_at.desc(), Operation.id.desc())
        )
        return (await self.session.scalars(stmt)).all()

    async def open_for_resource(self, resource_id: str) -> Sequence[Operation]:
        stmt = select(Operation).where(
            Operation.resource_id == resource_id, Operation.state == OpState.PENDING
        )
        return (await self.session.scalars(stmt)).all()

    async def leased_for_resource(self, resource_id: str, *, now: datetime, exclude: str) -> int:
        """How many other operations of a resource a worker is executing right now."""
        stmt = select(Operation.id).where(
            Operation.resource_id == resource_id,
            Operation.id != exclude,
            Operation.lease_until > now,
        )
        return len((await self.session.scalars(stmt)).all())

    async def claim(self, *, owner: str, now: datetime, lease: timedelta, limit: int) -> list[str]:
        """Lease up to `limit` ready operations to `owner`; returns their ids."""
        candidates = (
            select(Operation.id)
            .where(
                Operation.state == OpState.PENDING,
                Operation.next_attempt_at <= now,
                or_(Operation.lease_until.is_(None), Operation.lease_until < now),
            )
            .order_by(Operation.next_attempt_at)
            .limit(limit)
        )
        if self.session.sync_session.get_bind().dialect.name != "sqlite":
            candidates = candidates.with_for_update(skip_locked=True)
        ids = list((await self.session.scalars(candidates)).all())
        claimed: list[str] = []
        for op_id in ids:
            # Conditional update: exactly one claimer wins even without row locks (SQLite).
            result = await self.session.execute(
                update(Operation)
                .where(
                    Operation.id == op_id,
                    Operation.state == OpState.PENDING,
                    or_(Operation.lease_until.is_(None), Operation.lease_until < now),
                )
                .values(lease_owner=owner, lease_until=now + lease, attempts=Operation.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1:
                claimed.append(op_id)
        return claimed

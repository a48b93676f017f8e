"""The one shape of an operation step, shared by every feature's worker side.

A step loads what it needs under the lease (short transaction), decides, calls the cloud with
no transaction open, then records the outcome in a second short transaction that first checks
the operation is still ours. Every step is safe to repeat, so a crash anywhere resumes from the
row. Features write only their decisions: `load`, `drive` and `record`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Generic, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.clock import Clock
from stackgate.core.errors import ConcurrentUpdate
from stackgate.core.operations import Operation, OperationFactory, OpResult, OpState
from stackgate.core.uow import UnitOfWork
from stackgate.providers.base import (
    Provider,
    ProviderError,
    ProviderNotFound,
    ProviderUnavailable,
)

log = structlog.get_logger("stackgate.worker")

MAX_BACKOFF_SECONDS = 30.0
# A request may change the row between our read and our write (a PATCH, a delete); what the
# cloud said still holds, so the outcome is written again on the fresh row, a few times.
_RECORD_ATTEMPTS = 3


class Kind(StrEnum):
    PROGRESS = "progress"  # the cloud is working: look again soon
    RETRY = "retry"  # the cloud could not be asked: back off and ask again
    DONE = "done"
    FAILED = "failed"
    GONE = "gone"  # the cloud does not have the resource
    UNDONE = "undone"  # the cloud rolled the action back (Nova's no-valid-host on unshelve)
    COMPENSATED = "compensated"  # a failed create's partial work is undone


D = TypeVar("D")
F = TypeVar("F")
U = TypeVar("U", bound=UnitOfWork)


@dataclass(slots=True)
class Outcome(Generic[D]):
    """What one step learned. `detail` is the feature's own typed record of it (what the cloud
    showed, ids it adopted), applied to the rows in the write transaction."""

    kind: Kind
    message: str | None = None
    fault_code: int = 500
    detail: D | None = None
    # Look again at once rather than after the poll interval (a dependency just finished).
    immediate: bool = False

    @property
    def ends(self) -> bool:
        return self.kind not in (Kind.PROGRESS, Kind.RETRY)


class OperationHandler(Generic[U, F, D]):
    """The skeleton: load under the lease -> decide -> call the cloud -> record.

    `F` is the facts a step copies out of the database, `D` the feature's outcome detail.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        provider: Provider,
        *,
        clock: Clock,
        operations: OperationFactory,
        poll_interval: float = 0.5,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._provider = provider
        self._clock = clock
        # For what a step queues in turn (a server's ports released, a rule after its group).
        self._operations = operations
        self._poll_interval = poll_interval

    # -- what a feature writes -------------------------------------------------------------

    def uow(self) -> U:
        raise NotImplementedError

    async def load(self, uow: U, op: Operation) -> F | Outcome[D]:
        """The facts the step needs, or an outcome decided from the rows alone (row gone)."""
        raise NotImplementedError

    async def drive(self, facts: F) -> Outcome[D]:
        """Call the cloud; provider errors may escape (the skeleton maps them)."""
        raise NotImplementedError

    async def record(
        self, uow: U, op: Operation, facts: F, outcome: Outcome[D], now: datetime
    ) -> None:
        """Write the outcome on the rows and the operation (finish or reschedule it)."""
        raise NotImplementedError

    def deadline_applies(self, facts: F) -> bool:
        """False while the step must run past the deadline (undoing a failed create)."""
        return True

    def waits_for_others(self, op: Operation) -> bool:
        """A delete waits while a step of another operation of the same resource runs (a
        create that may be making it in the cloud right now), so it can find what that made."""
        return op.action == "delete" and op.phase == "submit"

    def on_provider_error(self, exc: ProviderError) -> Outcome[D]:
        """How a cloud error that escaped `drive` ends the step."""
        if isinstance(exc, ProviderUnavailable):
            return Outcome(Kind.RETRY, message=f"cloud unavailable: {exc.message}")
        if isinstance(exc, ProviderNotFound):
            return Outcome(Kind.GONE, message=exc.message)
        return Outcome(Kind.FAILED, message=exc.message, fault_code=exc.status_code or 500)

    # -- the skeleton ------------------------------------------------------------------------

    async def handle(self, op_id: str, owner: str) -> None:
        """Advance one leased operation by one step."""
        async with self.uow() as uow:
            op = await self._leased(uow, op_id, owner)
            if op is None:
                return
            loaded = await self.load(uow, op)
            now = self._clock.now()
            busy = (
                not isinstance(loaded, Outcome)
                and self.waits_for_others(op)
                and await uow.operations.leased_for_resource(op.resource_id, now=now, exclude=op.id)
            )
            action, deadline, last_word = op.action, op.deadline_at, op.message
            if isinstance(loaded, Outcome):
                # Decided from the rows alone: record it in this same transaction.
                await self.record_unloaded(uow, op, loaded, now)
                await uow.commit()
                return
        facts = loaded
        if busy:
            outcome: Outcome[D] = Outcome(Kind.PROGRESS)
        elif now >= deadline and self.deadline_applies(facts):
            # The cloud's last refusal (retried until now) is the likeliest reason: keep it.
            reason = f"{action} did not finish within its deadline"
            outcome = Outcome(
                Kind.FAILED, message=f"{reason}; last: {last_word}" if last_word else reason
            )
        else:
            try:
                outcome = await self.drive(facts)
            except ProviderError as exc:
                outcome = self.on_provider_error(exc)
        for _ in range(_RECORD_ATTEMPTS):
            try:
                await self._record(op_id, owner, facts, outcome)
                break
            except ConcurrentUpdate:
                continue
        log.info(
            "operation_step", op_id=op_id, action=action, kind=outcome.kind, message=outcome.message
        )

    async def record_unloaded(
        self, uow: U, op: Operation, outcome: Outcome[D], now: datetime
    ) -> None:
        """An outcome `load` decided (the row is missing): end the operation with it."""
        self.settle(op, outcome, now)

    async def _record(self, op_id: str, owner: str, facts: F, outcome: Outcome[D]) -> None:
        now = self._clock.now()
        async with self.uow() as uow:
            op = await self._leased(uow, op_id, owner)
            if op is None:
                return
            await self.record(uow, op, facts, outcome, now)
            await uow.commit()

    async def _leased(self, uow: U, op_id: str, owner: str) -> Operation | None:
        """The operation if this worker still holds it and it is still to do. A lost lease
        means the new owner decides; a cancelled one is let go, so a waiting delete goes on."""
        op = await uow.operations.get(op_id)
        if op is None or op.lease_owner != owner:
            return None
        if op.state != OpState.PENDING:
            op.release()
            await uow.commit()
            return None
        return op

    # -- helpers for `record` ----------------------------------------------------------------

    def backoff(self, attempts: int) -> float:
        """One poll interval while the cloud works; after failed attempts, doubling (capped)
        so a cloud in trouble is not hammered."""
        if attempts <= 0:
            return self._poll_interval
        return float(min(self._poll_interval * (2 ** min(attempts, 8)), MAX_BACKOFF_SECONDS))

    def reschedule(self, op: Operation, outcome: Outcome[D], now: datetime) -> None:
        """Another step: at once, after the poll interval, or backed off after a retry."""
        if outcome.immediate and outcome.kind == Kind.PROGRESS:
            delay = 0.0
        else:
            delay = self.backoff(op.attempts if outcome.kind == Kind.RETRY else 0)
        op.reschedule(now + timedelta(seconds=delay), outcome.message)

    def settle(self, op: Operation, outcome: Outcome[D], now: datetime) -> None:
        """The operation's own bookkeeping for an outcome: done, failed, or one more step."""
        match outcome.kind:
            case Kind.PROGRESS | Kind.RETRY:
                self.reschedule(op, outcome, now)
            case Kind.DONE:
                op.finish(OpResult.SUCCESS, now=now)
            case _:
                op.finish(OpResult.ERROR, outcome.message, now=now)

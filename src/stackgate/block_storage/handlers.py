"""What the volume and snapshot operation handlers share: the facts a step copies out, the
outcome detail it records, and how an outcome lands on the row (worker side).

The steps run on the worker's skeleton (stackgate.worker.handler); each is safe to repeat: a
create first looks for the resource by our metadata, a delete of something gone is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from stackgate.block_storage.models import Volume, VolumeSnapshot
from stackgate.block_storage.repository import BlockStorageUoW
from stackgate.core.operations import Operation, OpResult
from stackgate.providers.base import ProviderError, ProviderUnavailable
from stackgate.worker.handler import Kind, OperationHandler, Outcome


@dataclass(slots=True)
class Facts:
    """What a step needs, copied out so no transaction stays open during cloud calls."""

    action: str
    phase: str
    params: dict[str, Any]
    row_id: str
    provider_id: str | None
    name: str
    size_gb: int
    project_id: str
    description: str | None = None
    volume_type: str | None = None
    volume_provider_id: str | None = None  # snapshots: the volume's cloud id


@dataclass(slots=True)
class CinderDetail:
    """What a step learned besides its kind."""

    provider_id: str | None = None  # the cloud id the step found or made (recorded on the row)
    phase: str | None = None  # the operation's next phase
    status: str | None = None  # on failure: the status to show (default error)


Row = TypeVar("Row", Volume, VolumeSnapshot)
CinderOutcome = Outcome[CinderDetail]


def outcome(
    kind: Kind,
    message: str | None = None,
    *,
    provider_id: str | None = None,
    phase: str | None = None,
    status: str | None = None,
) -> CinderOutcome:
    return Outcome(
        kind, message=message, detail=CinderDetail(provider_id, phase=phase, status=status)
    )


class CinderHandler(OperationHandler[BlockStorageUoW, Facts, CinderDetail], Generic[Row]):
    resource_type = ""

    async def row(self, uow: BlockStorageUoW, row_id: str) -> Row | None:
        raise NotImplementedError

    async def facts(self, uow: BlockStorageUoW, op: Operation, row: Row) -> Facts:
        raise NotImplementedError

    def apply(self, row: Row, facts: Facts, outcome: CinderOutcome) -> bool:
        """Record a finished step on the row; True when the row is to be removed."""
        raise NotImplementedError

    def uow(self) -> BlockStorageUoW:
        return BlockStorageUoW(self._sessionmaker)

    async def load(self, uow: BlockStorageUoW, op: Operation) -> Facts | CinderOutcome:
        row = await self.row(uow, op.resource_id)
        if row is None:
            if op.action == "delete":
                return Outcome(Kind.DONE)
            return Outcome(Kind.FAILED, message=f"{self.resource_type} row missing")
        return await self.facts(uow, op, row)

    def waits_for_others(self, op: Operation) -> bool:
        # In every phase: a create's step may still be making the resource in the cloud.
        return op.action == "delete"

    def on_provider_error(self, exc: ProviderError) -> CinderOutcome:
        # A cloud error `drive` did not expect fails the step, "not found" included: the steps
        # handle a missing resource themselves where it means done.
        if isinstance(exc, ProviderUnavailable):
            return Outcome(Kind.RETRY, message=f"cloud unavailable: {exc.message}")
        return Outcome(Kind.FAILED, message=exc.message)

    async def record(
        self,
        uow: BlockStorageUoW,
        op: Operation,
        facts: Facts,
        outcome: CinderOutcome,
        now: datetime,
    ) -> None:
        row = await self.row(uow, facts.row_id)
        if row is None:
            op.finish(OpResult.SUCCESS if facts.action == "delete" else OpResult.ERROR, now=now)
            return
        detail = outcome.detail or CinderDetail()
        if detail.provider_id is not None:
            row.provider_id = detail.provider_id
        if detail.phase is not None:
            op.phase = detail.phase
        match outcome.kind:
            case Kind.PROGRESS | Kind.RETRY:
                self.reschedule(op, outcome, now)
            case Kind.DONE | Kind.GONE:
                if self.apply(row, facts, outcome):
                    await uow.session.delete(row)
                else:
                    row.error_message = None
                    row.updated_at = now
                op.finish(OpResult.SUCCESS, now=now)
            case _:
                message = outcome.message or f"{facts.action} failed"
                row.status = detail.status or "error"
                row.error_message = message[:2000]
                row.updated_at = now
                op.finish(OpResult.ERROR, message, now=now)

"""Operation bodies: what an accepted (202) request started, and how far it got."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from stackgate.core.operations import Operation, OpResult, OpState
from stackgate.core.pagination import PageMeta
from stackgate.core.schemas import Output


class OperationStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({OperationStatus.SUCCEEDED, OperationStatus.FAILED, OperationStatus.CANCELLED})
_ENDED = {
    OpResult.SUCCESS: OperationStatus.SUCCEEDED,
    OpResult.ERROR: OperationStatus.FAILED,
    OpResult.CANCELLED: OperationStatus.CANCELLED,
}


def status_of(op: Operation) -> OperationStatus:
    """pending until a worker first takes it, running from then on, then how it ended."""
    if op.state == OpState.DONE:
        return (
            _ENDED.get(OpResult(op.result), OperationStatus.FAILED)
            if op.result
            else (OperationStatus.SUCCEEDED)
        )
    return OperationStatus.RUNNING if op.attempts > 0 else OperationStatus.PENDING


class FaultRead(Output):
    message: str


class OperationRead(Output):
    id: str
    action: str
    resource_type: str
    resource_id: str
    project_id: str
    user_id: str | None
    request_id: str | None
    status: OperationStatus
    step: str = Field(description="The step it is at (or ended in), e.g. spawn, poll.")
    attempts: int = Field(description="How many times a worker has taken it up.")
    created_at: datetime
    finished_at: datetime | None
    fault: FaultRead | None = Field(None, description="Why it failed (failed only).")
    message: str | None = Field(
        None,
        description="While pending or running: the worker's latest word on it, such as what "
        "it waits for or the cloud's refusal it keeps retrying after until its deadline "
        "(`cloud unavailable: the cloud refused our credentials ...`); null once it ended "
        "(a failure's reason is `fault`) or before there is any.",
    )

    @classmethod
    def of(cls, op: Operation) -> OperationRead:
        status = status_of(op)
        failed = status is OperationStatus.FAILED
        return cls(
            id=op.id,
            action=op.action,
            resource_type=op.resource_type,
            resource_id=op.resource_id,
            project_id=op.project_id,
            user_id=op.user_id,
            request_id=op.request_id,
            status=status,
            step=op.phase,
            attempts=op.attempts,
            created_at=op.created_at,
            finished_at=op.finished_at,
            fault=FaultRead(message=op.message or "failed") if failed else None,
            message=op.message if status not in TERMINAL else None,
        )

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL


class OperationList(PageMeta):
    items: list[OperationRead]


@dataclass(frozen=True, slots=True)
class OperationFilters:
    """What GET /operations narrows the list to (project: the caller's, unless an admin
    asks for another or for all)."""

    project_id: str | None = None
    resource_id: str | None = None
    resource_type: str | None = None
    action: str | None = None
    status: OperationStatus | None = None

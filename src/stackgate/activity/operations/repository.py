"""Reading operation records (the worker's own repository in core/operations.py writes them)."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from stackgate.activity.operations.schemas import OperationFilters, OperationStatus
from stackgate.core.operations import Operation, OpResult, OpState
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.repository import paginate

OPERATION_SORTS = {"created_at": Operation.created_at}

_STATUS: dict[OperationStatus, ColumnElement[bool]] = {
    OperationStatus.PENDING: and_(Operation.state == OpState.PENDING, Operation.attempts == 0),
    OperationStatus.RUNNING: and_(Operation.state == OpState.PENDING, Operation.attempts > 0),
    OperationStatus.SUCCEEDED: and_(
        Operation.state == OpState.DONE,
        or_(Operation.result == OpResult.SUCCESS, Operation.result.is_(None)),
    ),
    OperationStatus.FAILED: and_(
        Operation.state == OpState.DONE, Operation.result == OpResult.ERROR
    ),
    OperationStatus.CANCELLED: and_(
        Operation.state == OpState.DONE, Operation.result == OpResult.CANCELLED
    ),
}


class OperationReader:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, op_id: str, *, project_id: str | None) -> Operation | None:
        """One operation; None when absent or (with a project) another project's."""
        stmt = select(Operation).where(Operation.id == op_id)
        if project_id is not None:
            stmt = stmt.where(Operation.project_id == project_id)
        return (await self.session.scalars(stmt)).first()

    async def list(self, *, filters: OperationFilters, page: PageRequest) -> PageResult[Operation]:
        stmt = select(Operation)
        f = filters
        for column, value in (
            (Operation.project_id, f.project_id),
            (Operation.resource_id, f.resource_id),
            (Operation.resource_type, f.resource_type),
            (Operation.action, f.action),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if f.status is not None:
            stmt = stmt.where(_STATUS[f.status])
        return await paginate(
            self.session, stmt, columns=OPERATION_SORTS, id_column=Operation.id, request=page
        )

"""Audit storage."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.audit.models import AuditEvent
from stackgate.audit.schemas import AuditFilters
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.repository import paginate

AUDIT_SORTS = {"at": AuditEvent.at}


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, event: AuditEvent) -> None:
        self.session.add(event)

    async def list(self, *, filters: AuditFilters, page: PageRequest) -> PageResult[AuditEvent]:
        stmt = select(AuditEvent)
        f = filters
        for column, value in (
            (AuditEvent.project_id, f.project_id),
            (AuditEvent.user_id, f.user_id),
            (AuditEvent.resource_type, f.resource_type),
            (AuditEvent.resource_id, f.resource_id),
            (AuditEvent.action, f.action),
            (AuditEvent.outcome, f.outcome),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if f.since is not None:
            stmt = stmt.where(AuditEvent.at >= f.since)
        if f.until is not None:
            stmt = stmt.where(AuditEvent.at < f.until)
        return await paginate(
            self.session, stmt, columns=AUDIT_SORTS, id_column=AuditEvent.id, request=page
        )

"""Audit use cases: record a mutating request, read the trail."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.audit.models import AuditEvent
from stackgate.audit.repository import AuditRepository
from stackgate.audit.schemas import AuditFilters
from stackgate.core.context import RequestContext
from stackgate.core.middleware import AuditEntry
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.uow import UnitOfWork
from stackgate.identity.public import policy


class AuditService:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def record(self, entry: AuditEntry) -> None:
        """Store one entry in its own transaction (the request's own may have rolled back)."""
        async with UnitOfWork(self._sessionmaker) as uow:
            AuditRepository(uow.session).add(
                AuditEvent(
                    at=entry.at,
                    request_id=entry.request_id,
                    user_id=entry.user_id,
                    user_name=entry.user_name,
                    project_id=entry.project_id,
                    method=entry.method,
                    path=entry.path[:1024],
                    action=entry.action,
                    resource_type=entry.resource_type,
                    resource_id=entry.resource_id,
                    status_code=entry.status_code,
                    outcome=entry.outcome,
                    client_address=entry.client_address,
                )
            )
            await uow.commit()

    async def list(
        self, ctx: RequestContext, *, filters: AuditFilters, page: PageRequest
    ) -> PageResult[AuditEvent]:
        """The trail: the cloud admin sees everything, a project manager their project."""
        policy.enforce(ctx, "audit:read")
        if not ctx.is_admin:
            if filters.project_id not in (None, ctx.project_id):
                return PageResult(
                    [],
                    0 if not page.keyset else None,
                    None if page.keyset else page.page,
                    page.size,
                    None,
                )
            filters = replace(filters, project_id=ctx.project_id)
        async with UnitOfWork(self._sessionmaker) as uow:
            return await AuditRepository(uow.session).list(filters=filters, page=page)

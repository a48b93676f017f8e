"""Operation use cases: show one, list them, follow one until it ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.activity.operations.repository import OperationReader
from stackgate.activity.operations.schemas import OperationFilters, OperationRead
from stackgate.activity.stream.service import PING, PING_SECONDS, Sent
from stackgate.core.context import RequestContext
from stackgate.core.errors import Forbidden, NotFound
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.events.feed import EventFeed, EventFilter
from stackgate.identity.public import policy

# How often a follower re-reads its operation when no event of its resource arrives (a step
# that changes nothing visible, a retry after a cloud error).
RECHECK_SECONDS = 1.0


class OperationService:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], feed: EventFeed) -> None:
        self._sessionmaker = sessionmaker
        self._feed = feed

    async def get(self, ctx: RequestContext, op_id: str) -> OperationRead:
        """One operation; another project's is 404, as if it did not exist (admins see all)."""
        policy.enforce(ctx, "operation:read")
        async with self._sessionmaker() as session:
            op = await OperationReader(session).get(
                op_id, project_id=None if ctx.is_admin else ctx.project_id
            )
        if op is None:
            raise NotFound("operation", op_id)
        return OperationRead.of(op)

    async def list(
        self,
        ctx: RequestContext,
        *,
        filters: OperationFilters,
        page: PageRequest,
        all_projects: bool = False,
    ) -> PageResult[OperationRead]:
        """The project's operations, newest first; an admin may name another project or ask
        for all of them."""
        policy.enforce(ctx, "operation:read")
        if not ctx.is_admin and (all_projects or filters.project_id not in (None, ctx.project_id)):
            raise Forbidden(
                "only a cloud admin may list another project's operations",
                rule="operation:read",
            )
        if filters.project_id is None and not (ctx.is_admin and all_projects):
            filters = replace(filters, project_id=ctx.project_id)
        async with self._sessionmaker() as session:
            found = await OperationReader(session).list(filters=filters, page=page)
        return PageResult(
            [OperationRead.of(op) for op in found.items],
            found.total,
            found.page,
            found.per_page,
            found.next_cursor,
        )

    async def follow(
        self, ctx: RequestContext, first: OperationRead, *, duration: float | None = None
    ) -> AsyncIterator[Sent]:
        """The operation as it is, then every event of its resource and every change of the
        operation, until it ends (or `duration` seconds passed)."""
        subscription = await self._feed.subscribe(
            EventFilter(project_id=first.project_id, resource_id=first.resource_id)
        )
        loop = asyncio.get_running_loop()
        ends_at = None if duration is None else loop.time() + duration
        try:
            current = first
            yield Sent.message("operation", current.model_dump(mode="json"))
            quiet_since = loop.time()
            while not current.ended:
                if loop.time() - quiet_since >= PING_SECONDS:
                    quiet_since = loop.time()
                    yield PING
                wait = RECHECK_SECONDS
                if ends_at is not None:
                    wait = min(wait, ends_at - loop.time())
                    if wait <= 0:
                        return
                if subscription.dropped:
                    # Too slow for the live feed: the operation's own record still tells.
                    await asyncio.sleep(wait)
                elif (event := await subscription.next(wait)) is not None:
                    quiet_since = loop.time()
                    yield Sent.of(event)
                latest = await self.get(ctx, first.id)
                if latest != current:
                    current = latest
                    quiet_since = loop.time()
                    yield Sent.message("operation", current.model_dump(mode="json"))
        finally:
            self._feed.unsubscribe(subscription)

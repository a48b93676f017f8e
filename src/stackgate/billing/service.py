"""Billing's use cases: record orders and events (consumers and in-process delivery alike),
list orders, and rate a project's usage. One transaction per call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.billing import rating
from stackgate.billing.messages import Event, OrderMessage
from stackgate.billing.models import Order, UsageEvent, UsagePeriod
from stackgate.billing.prices import PriceList
from stackgate.billing.repository import OrderRepository, UsageRepository
from stackgate.billing.usage import Period, Size, derive_periods, rated
from stackgate.core.clock import Clock, SystemClock
from stackgate.core.context import RequestContext
from stackgate.core.errors import Forbidden, InvalidInput, NotFound
from stackgate.core.pagination import PageResult

MAX_WINDOW_DAYS = 366


def _event_row(event: Event, now: datetime) -> dict[str, object]:
    return {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "occurred_at": event.occurred_at,
        "project_id": event.project_id,
        "user_id": event.user_id,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "payload": event.payload,
        "received_at": now,
    }


def _stored_event(row: UsageEvent) -> Event:
    return Event(
        event_id=row.event_id,
        event_type=row.event_type,
        occurred_at=row.occurred_at,
        project_id=row.project_id,
        user_id=row.user_id,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        payload=row.payload or {},
    )


def _period_row(period: Period) -> dict[str, object]:
    return {
        "resource_id": period.resource_id,
        "resource_type": period.resource_type,
        "project_id": period.project_id,
        "started_at": period.started_at,
        "ended_at": period.ended_at,
        "flavor_name": period.size.flavor_name,
        "vcpus": period.size.vcpus,
        "size_gb": period.size.size_gb,
    }


def _period(row: UsagePeriod) -> Period:
    return Period(
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        project_id=row.project_id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        size=Size(flavor_name=row.flavor_name, vcpus=row.vcpus, size_gb=row.size_gb),
    )


class InvalidWindow(InvalidInput):
    """`start` and `end` do not make a usable window (400)."""

    code = "invalid_window"
    title = "Invalid usage window"


class BillingService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        prices: PriceList,
        clock: Clock | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.prices = prices
        self.clock = clock or SystemClock()

    async def record_orders(self, orders: Sequence[OrderMessage]) -> None:
        """Store orders not stored yet (by message id), in one transaction."""
        now = self.clock.now()
        rows = {
            order.message_id: {
                "user_id": order.user_id,
                "number_of_items": order.number_of_items,
                "total_amount": order.total_amount,
                "message_id": order.message_id,
                "received_at": now,
            }
            for order in orders
        }
        async with self.sessionmaker() as session, session.begin():
            # Sorted keys: two consumers inserting overlapping batches wait, never deadlock.
            await OrderRepository(session).add_if_absent([rows[k] for k in sorted(rows)])

    async def record_events(self, events: Sequence[Event]) -> None:
        """Store events not stored yet (by event id) and recompute the usage periods of the
        resources they concern, in one transaction."""
        now = self.clock.now()
        unique = {event.event_id: event for event in events}
        async with self.sessionmaker() as session, session.begin():
            repo = UsageRepository(session)
            await repo.add_events_if_absent([_event_row(unique[k], now) for k in sorted(unique)])
            touched: dict[str, tuple[str, str | None]] = {}
            for event in unique.values():
                kind = rated(event)
                if kind is not None and event.resource_id is not None:
                    touched.setdefault(event.resource_id, (kind[0], event.project_id))
            # A fixed lock order: two consumers with overlapping batches never deadlock.
            for resource_id in sorted(touched):
                resource_type, project_id = touched[resource_id]
                await repo.lock_resource(
                    resource_id=resource_id,
                    resource_type=resource_type,
                    project_id=project_id,
                    now=now,
                )
                stored = [_stored_event(row) for row in await repo.events_of(resource_id)]
                periods = derive_periods(stored)
                await repo.replace_periods(resource_id, [_period_row(p) for p in periods])

    async def list_orders(
        self, ctx: RequestContext, *, user_id: str | None, page: int, per_page: int
    ) -> PageResult[Order]:
        """Orders, oldest first (cloud admin only: orders span every user)."""
        if not ctx.is_admin:
            raise Forbidden("listing orders needs the cloud admin role")
        async with self.sessionmaker() as session:
            repo = OrderRepository(session)
            orders = await repo.list(user_id=user_id, offset=(page - 1) * per_page, limit=per_page)
            total = await repo.count(user_id=user_id)
        return PageResult(items=orders, total=total, page=page, per_page=per_page, next_cursor=None)

    async def project_usage(
        self,
        ctx: RequestContext,
        project_id: str,
        *,
        start: datetime | None,
        end: datetime | None,
        hourly: bool = True,
    ) -> rating.UsageReport:
        """A project's charges between start and end (default: this month so far)."""
        if not ctx.is_admin and ctx.project_id != project_id:
            # Another project's usage is "not found", never "forbidden" (DESIGN.md 4).
            raise NotFound("project", project_id)
        now = self.clock.now()
        end = _utc(end) if end is not None else now
        start = (
            _utc(start)
            if start is not None
            else end.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        )
        if end <= start:
            raise InvalidWindow("end must be after start", field="end")
        if (end - start).days > MAX_WINDOW_DAYS:
            raise InvalidWindow(f"the window is at most {MAX_WINDOW_DAYS} days", field="start")
        # A running resource is charged up to now, never into the future.
        horizon = min(end, now)
        async with self.sessionmaker() as session:
            rows = await UsageRepository(session).periods_of_project(
                project_id, start=start, end=horizon
            )
        periods = [_period(row) for row in rows]
        report = rating.rate(
            periods, self.prices, start=start, end=max(horizon, start), hourly=hourly
        )
        return rating.UsageReport(start, end, report.currency, report.resources, report.total)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

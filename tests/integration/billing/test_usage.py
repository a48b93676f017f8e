"""The usage consumer: events from stackgate.events stored once, periods derived, usage rated."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from stackgate.billing.models import UsageEvent
from stackgate.billing.service import BillingService
from stackgate.core.context import RequestContext
from stackgate.messaging.topology import USAGE_DEAD_LETTER_QUEUE
from tests.integration.billing.conftest import running_consumers, wait_for
from tests.integration.billing.test_consumer import declare
from tests.messaging_fixtures import Publisher, get_all

pytestmark = pytest.mark.services

ADMIN = RequestContext(project_id="admin-project", roles=frozenset({"admin"}))
T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def envelope(event_type: str, at: datetime, resource_id: str, **payload: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "project_id": "project-1",
        "user_id": "user-1",
        "resource_type": "server",
        "resource_id": resource_id,
        "payload": payload,
    }


async def stored_events(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(UsageEvent)) or 0)


async def test_events_are_stored_once_and_rated(
    service: BillingService, billing_engine: AsyncEngine, broker_url: str
) -> None:
    await declare(broker_url)
    create = envelope("compute.instance.create.end", T0, "s1", flavor_name="m1.small", vcpus=1)
    events = [
        create,
        create,  # the relay re-sent it: same event id
        envelope("compute.instance.update", T0, "s1", status="ACTIVE"),
        envelope(
            "compute.instance.resize.end", T0 + timedelta(minutes=30), "s1", flavor_name="m1.large"
        ),
        envelope("compute.instance.delete.end", T0 + timedelta(minutes=45), "s1"),
        envelope("volume.create.end", T0, "v1", size_gb=100),
        envelope("floatingip.create.end", T0, "f1", floating_ip_address="203.0.113.9"),
        envelope("floatingip.delete.end", T0 + timedelta(seconds=90), "f1"),
    ]
    async with Publisher(broker_url) as publish:
        for event in reversed(events):  # any order
            await publish.event(event)
        await publish.raw(b"{}", exchange="stackgate.events", routing_key="x.y", message_id="bad")
    async with running_consumers(broker_url, service):
        await wait_for(lambda: _at_least(stored_events(billing_engine), 7), within=15)
    assert await stored_events(billing_engine) == 7
    dead = await get_all(broker_url, USAGE_DEAD_LETTER_QUEUE)
    assert [m.message_id for m in dead] == ["bad"]

    report = await service.project_usage(ADMIN, "project-1", start=T0, end=T0 + timedelta(hours=1))
    prices = service.prices
    by_id = {r.resource_id: r for r in report.resources}
    assert by_id["s1"].amount == (
        prices.flavor_hour["m1.small"] / 2 + prices.flavor_hour["m1.large"] / 4
    )
    assert by_id["v1"].amount == prices.volume_gb_hour * 100
    assert by_id["f1"].seconds == 90
    assert by_id["f1"].amount == prices.floating_ip_hour * Decimal(90) / Decimal(3600)
    assert report.total == sum(r.amount for r in report.resources)


async def _at_least(count: Any, n: int) -> bool:
    return bool(await count >= n)

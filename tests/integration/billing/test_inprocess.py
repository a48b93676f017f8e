"""In-process billing (no broker): the gateway's order hand-off, the relay's event subscriber,
and the billing HTTP API with the control plane's tokens (checked in-process over ASGI)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from stackgate.app import create_app
from stackgate.billing import inprocess
from stackgate.billing.inprocess import InProcessBilling, InvalidOrder
from stackgate.bootstrap import Container
from stackgate.events import subscribers
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, login

pytestmark = pytest.mark.services

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def billing(container: Container, tmp_path: Path) -> AsyncIterator[InProcessBilling]:
    settings = container.settings.model_copy(
        update={"billing_database_url": f"sqlite+aiosqlite:///{tmp_path / 'billing.db'}"}
    )
    built = inprocess.build(settings, api_app=create_app(settings, container=container))
    yield built
    await built.close()


def client(billing: InProcessBilling, token: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=billing.app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://billing", headers=headers)


async def test_orders_handed_over_in_process_are_stored_once(
    billing: InProcessBilling, container: Container
) -> None:
    body = json.dumps({"user_id": "3", "number_of_items": "5", "total_amount": "180"}).encode()
    await billing.deliver_order(body, "m-1")
    await billing.deliver_order(body, "m-1")
    await billing.deliver_order({"user_id": 4, "number_of_items": 1, "total_amount": 1}, "m-2")
    with pytest.raises(InvalidOrder):
        await billing.deliver_order(b'{"user_id": "3"}', "m-3")
    token = await login(container, "admin", ADMIN_PASSWORD, "admin")
    async with client(billing, token) as http:
        everything = (await http.get("/api/v1/billing/orders")).json()
        only_3 = (await http.get("/api/v1/billing/orders", params={"user_id": "3"})).json()
        page_2 = await http.get("/api/v1/billing/orders", params={"per_page": 1, "page": 2})
    assert everything["total"] == 2
    assert [(o["user_id"], o["total_amount"]) for o in everything["orders"]] == [
        ("3", "180.00"),
        ("4", "1.00"),
    ]
    assert [o["message_id"] for o in only_3["orders"]] == ["m-1"]
    assert [o["message_id"] for o in page_2.json()["orders"]] == ["m-2"]


async def test_events_from_the_relay_and_the_usage_api(
    billing: InProcessBilling, container: Container
) -> None:
    demo = await login(container, "demo", DEMO_PASSWORD, "demo")
    admin = await login(container, "admin", ADMIN_PASSWORD, "admin")
    demo_project = (await container.auth.authenticate(demo, request_id=None)).project_id
    start = NOW - timedelta(hours=2)
    base = {"project_id": demo_project, "user_id": "u", "resource_type": "server"}
    # Registered with the process's subscriber registry by build() (no broker configured).
    await subscribers.default_registry.deliver(
        {
            **base,
            "event_id": "e1",
            "event_type": "compute.instance.create.end",
            "occurred_at": start.isoformat(),
            "resource_id": "s1",
            "payload": {"flavor_name": "m1.small", "vcpus": 1},
        }
    )
    await billing.subscriber(
        {
            **base,
            "event_id": "e2",
            "event_type": "compute.instance.delete.end",
            "occurred_at": (start + timedelta(seconds=90)).isoformat(),
            "resource_id": "s1",
        }
    )
    await billing.subscriber({"event_type": "broken"})  # logged and dropped, never raised
    window = {"start": start.isoformat(), "end": NOW.isoformat()}
    url = f"/api/v1/billing/projects/{demo_project}/usage"
    async with client(billing, demo) as http:
        mine = await http.get(url, params=window)
        other = await http.get("/api/v1/billing/projects/someone-else/usage")
        orders = await http.get("/api/v1/billing/orders")
        backwards = await http.get(url, params={"start": NOW.isoformat(), "end": start.isoformat()})
        too_long = await http.get(url, params={"start": "2000-01-01T00:00:00Z"})
        unix_time = await http.get(url, params={"end": "0.5"})
    async with client(billing, admin) as http:
        as_admin = await http.get(url, params={**window, "hourly": "false"})
    async with client(billing, None) as http:
        anonymous = await http.get(url)
    assert mine.status_code == 200, mine.text
    report = mine.json()
    expected = billing.service.prices.flavor_hour["m1.small"] * 90 / 3600
    assert Decimal(report["total"]) == expected.quantize(Decimal("0.000001"))
    (resource,) = report["resources"]
    assert resource["resource_id"] == "s1"
    assert Decimal(resource["seconds"]) == 90
    assert sum(Decimal(h["seconds"]) for h in resource["hours"]) == 90
    assert other.status_code == 404
    assert orders.status_code == 403
    assert (backwards.status_code, backwards.json()["code"]) == (400, "invalid_window")
    assert (too_long.status_code, too_long.json()["code"]) == (400, "invalid_window")
    assert (unix_time.status_code, unix_time.json()["code"]) == (422, "validation_error")
    assert anonymous.status_code == 401
    assert as_admin.status_code == 200
    assert as_admin.json()["resources"][0]["hours"] == []
    assert as_admin.json()["total"] == report["total"]


async def test_the_default_window_is_this_month_so_far(
    billing: InProcessBilling, container: Container
) -> None:
    admin = await login(container, "admin", ADMIN_PASSWORD, "admin")
    async with client(billing, admin) as http:
        answer = await http.get("/api/v1/billing/projects/p/usage")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    start = datetime.fromisoformat(body["start"].replace("Z", "+00:00"))
    assert (start.day, start.hour, start.minute) == (1, 0, 0)
    assert body["resources"] == [] and Decimal(body["total"]) == 0

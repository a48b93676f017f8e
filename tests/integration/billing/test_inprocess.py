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
from stackgate.billing.app import BillingRuntime
from stackgate.billing.inprocess import InProcessBilling, InvalidOrder
from stackgate.billing.messages import event_from_dict
from stackgate.bootstrap import Container
from stackgate.core.context import DEFAULT_PROJECT_ID, RequestContext
from stackgate.events import subscribers
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, login, make_settings

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
    assert [(o["user_id"], o["total_amount"]) for o in everything["items"]] == [
        ("3", "180.00"),
        ("4", "1.00"),
    ]
    assert [o["message_id"] for o in only_3["items"]] == ["m-1"]
    assert [o["message_id"] for o in page_2.json()["items"]] == ["m-2"]


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


async def test_orders_list_as_every_list_does(
    billing: InProcessBilling, container: Container
) -> None:
    for n in range(21):
        await billing.deliver_order(
            {"user_id": 1, "number_of_items": 1, "total_amount": n}, f"o{n}"
        )
    token = await login(container, "admin", ADMIN_PASSWORD, "admin")
    async with client(billing, token) as http:
        first = (await http.get("/api/v1/billing/orders")).json()
        last = (await http.get("/api/v1/billing/orders", params={"page": 2})).json()
    assert set(first) == {"items", "total", "page", "per_page", "next_cursor"}
    assert (first["total"], first["page"], first["per_page"]) == (21, 1, 20)
    assert len(first["items"]) == 20
    assert [o["message_id"] for o in last["items"]] == ["o20"]


async def test_a_usage_window_of_plain_dates_covers_whole_days(
    billing: InProcessBilling, container: Container
) -> None:
    demo = await login(container, "demo", DEMO_PASSWORD, "demo")
    project = (await container.auth.authenticate(demo, request_id=None)).project_id
    base = {"project_id": project, "user_id": "u", "resource_type": "server", "resource_id": "d1"}
    # Ran from 23:00 on 5 December to 01:00 on 7 December: 26 hours.
    await billing.subscriber(
        {
            **base,
            "event_id": "d-create",
            "event_type": "compute.instance.create.end",
            "occurred_at": "2025-12-05T23:00:00Z",
            "payload": {"flavor_name": "m1.small", "vcpus": 1},
        }
    )
    await billing.subscriber(
        {
            **base,
            "event_id": "d-delete",
            "event_type": "compute.instance.delete.end",
            "occurred_at": "2025-12-07T01:00:00Z",
        }
    )
    url = f"/api/v1/billing/projects/{project}/usage"
    async with client(billing, demo) as http:
        one_day = await http.get(url, params={"start": "2025-12-06", "end": "2025-12-06"})
        from_a_date = await http.get(url, params={"start": "2025-12-06", "end": "2025-12-08"})
        not_a_day = await http.get(url, params={"start": "2025-02-30"})
        not_hourly = await http.get(
            url, params={"start": "2025-12-06", "end": "2025-12-06", "hourly": "false"}
        )
    assert one_day.status_code == 200, one_day.text
    report = one_day.json()
    assert (report["start"], report["end"]) == ("2025-12-06T00:00:00Z", "2025-12-07T00:00:00Z")
    (resource,) = report["resources"]
    assert Decimal(resource["seconds"]) == 24 * 3600
    assert len(resource["hours"]) == 24
    (resource,) = from_a_date.json()["resources"]
    assert Decimal(resource["seconds"]) == 25 * 3600  # from 00:00 on the 6th
    assert not_a_day.status_code == 422
    assert "2026-12-06" in not_a_day.json()["detail"]
    (resource,) = not_hourly.json()["resources"]
    assert resource["hours"] == [] and Decimal(resource["seconds"]) == 24 * 3600


async def test_two_installs_bill_apart_with_only_their_databases_set(tmp_path: Path) -> None:
    """`make run` and StackGate on the fake cloud in one directory, each setting only
    STACKGATE_DATABASE_URL: the demo project has the same id in both, yet neither install's
    usage report lists the other's servers."""
    installs = [
        BillingRuntime.build(make_settings(f"sqlite+aiosqlite:///{tmp_path / name}"))
        for name in ("stackgate.db", "on-fake.db")
    ]
    try:
        first, second = installs
        assert first.settings.billing_database_url.endswith(f"{tmp_path}/stackgate-billing.db")
        assert second.settings.billing_database_url.endswith(f"{tmp_path}/on-fake-billing.db")
        for install in installs:
            await install.migrate()
        created = {
            "event_id": "e-first",
            "event_type": "compute.instance.create.end",
            "occurred_at": (NOW - timedelta(hours=1)).isoformat(),
            "project_id": DEFAULT_PROJECT_ID,
            "resource_type": "server",
            "resource_id": "only-in-first",
            "payload": {"flavor_name": "m1.small", "vcpus": 1},
        }
        await first.service.record_events([event_from_dict(created)])
        demo = RequestContext(project_id=DEFAULT_PROJECT_ID)
        seen = [
            await install.service.project_usage(demo, DEFAULT_PROJECT_ID, start=None, end=None)
            for install in installs
        ]
    finally:
        for install in installs:
            await install.close()
    assert [r.resource_id for r in seen[0].resources] == ["only-in-first"]
    assert seen[1].resources == []

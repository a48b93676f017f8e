"""`stackgate billing` as a real process on the real RabbitMQ (this run's vhost) and a
PostgreSQL billing database of its own: messages that waited are processed when it starts, a
kill -9 between commit and ack or in the middle of a batch loses and duplicates nothing, and two
billing processes split the queue with exact totals."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from stackgate.core.db import create_engine
from stackgate.messaging.topology import (
    BILLING_DEAD_LETTER_QUEUE,
    BILLING_QUEUE,
    USAGE_DEAD_LETTER_QUEUE,
    USAGE_QUEUE,
)
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD
from tests.e2e.conftest import Launcher, eventually
from tests.integration.billing.conftest import PG_ADMIN, order_count, order_totals, pg_admin
from tests.integration.billing.test_consumer import declare
from tests.messaging_fixtures import Publisher, broker_url, broker_vhost, purge_queues, queue_depth

__all__ = ["broker_url", "broker_vhost"]
pytestmark = [pytest.mark.e2e, pytest.mark.services]


@pytest.fixture
async def billing_db(broker_url: str) -> AsyncIterator[tuple[str, AsyncEngine]]:
    """A fresh billing database (the process creates its schema) and empty queues."""
    name = f"sg_billing_e2e_{uuid.uuid4().hex[:12]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    await declare(broker_url)
    await purge_queues(
        broker_url, BILLING_QUEUE, BILLING_DEAD_LETTER_QUEUE, USAGE_QUEUE, USAGE_DEAD_LETTER_QUEUE
    )
    engine = create_engine(f"{PG_ADMIN}/{name}")
    try:
        yield f"{PG_ADMIN}/{name}", engine
    finally:
        await engine.dispose()
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def billing_env(broker_url: str, database_url: str, **extra: str) -> dict[str, str]:
    return {
        "STACKGATE_BROKER_URL": broker_url,
        "STACKGATE_BILLING_DATABASE_URL": database_url,
        "STACKGATE_LOG_LEVEL": "WARNING",
        **extra,
    }


async def publish_orders(url: str, n: int) -> tuple[Decimal, int]:
    """n orders, published the way the gateway does; returns their (amount, items) sums."""
    amount, items = Decimal(0), 0
    async with Publisher(url) as publish:
        for i in range(n):
            value = Decimal(f"{i % 100}.{i % 100:02d}")
            await publish.order(
                {
                    "user_id": str(i % 17),
                    "number_of_items": str(i % 3 + 1),
                    "total_amount": str(value),
                }
            )
            amount += value
            items += i % 3 + 1
    return amount, items


async def rows_at_least(engine: AsyncEngine, n: int) -> bool:
    return await order_count(engine) >= n


async def test_messages_waiting_before_billing_starts_are_processed(
    launcher: Launcher, broker_url: str, billing_db: tuple[str, AsyncEngine]
) -> None:
    url, engine = billing_db
    amount, items = await publish_orders(broker_url, 100)
    assert await queue_depth(broker_url, BILLING_QUEUE) == 100
    _, base_url = await launcher.serving("billing", **billing_env(broker_url, url))
    await eventually(lambda: rows_at_least(engine, 100), within=30)
    await asyncio.sleep(0.5)
    assert await order_totals(engine) == (100, 100, amount, items)
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        ready = await http.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert await queue_depth(broker_url, BILLING_QUEUE) == 0


async def test_kill_between_commit_and_ack_loses_and_duplicates_nothing(
    launcher: Launcher, broker_url: str, billing_db: tuple[str, AsyncEngine]
) -> None:
    url, engine = billing_db
    amount, items = await publish_orders(broker_url, 200)
    crashing = launcher.start(
        "billing", **billing_env(broker_url, url, STACKGATE_BILLING_TEST_CRASH_AFTER_COMMIT="50")
    )
    assert await crashing.wait(60) == 137, crashing.tail()
    committed = await order_count(engine)
    assert 50 <= committed < 200
    # The last batch was committed but never acked: its messages are back in the queue.
    assert committed + await queue_depth(broker_url, BILLING_QUEUE) > 200
    await launcher.serving("billing", **billing_env(broker_url, url))
    await eventually(lambda: rows_at_least(engine, 200), within=30)
    await asyncio.sleep(0.5)
    assert await order_totals(engine) == (200, 200, amount, items)


async def test_kill_9_in_the_middle_of_a_batch_loses_and_duplicates_nothing(
    launcher: Launcher, broker_url: str, billing_db: tuple[str, AsyncEngine]
) -> None:
    url, engine = billing_db
    amount, items = await publish_orders(broker_url, 2000)
    first, _ = await launcher.serving("billing", **billing_env(broker_url, url))
    await eventually(lambda: rows_at_least(engine, 300), within=60, interval=0.02)
    first.kill()
    done = await order_count(engine)
    assert done < 2000, "the batch finished before the kill: nothing was tested"
    await launcher.serving("billing", **billing_env(broker_url, url))
    await eventually(lambda: rows_at_least(engine, 2000), within=60)
    await asyncio.sleep(0.5)
    assert await order_totals(engine) == (2000, 2000, amount, items)


async def test_two_billing_processes_split_the_queue_with_exact_totals(
    launcher: Launcher, broker_url: str, billing_db: tuple[str, AsyncEngine]
) -> None:
    url, engine = billing_db
    amount, items = await publish_orders(broker_url, 2000)
    await asyncio.gather(
        launcher.serving("billing", **billing_env(broker_url, url)),
        launcher.serving("billing", **billing_env(broker_url, url)),
    )
    await eventually(lambda: rows_at_least(engine, 2000), within=60)
    await asyncio.sleep(0.5)
    assert await order_totals(engine) == (2000, 2000, amount, items)


async def test_the_billing_api_checks_tokens_with_the_control_plane(
    launcher: Launcher, broker_url: str, billing_db: tuple[str, AsyncEngine]
) -> None:
    url, engine = billing_db
    await launcher.run("migrate")
    _, api_url = await launcher.serving("api")
    _, billing_url = await launcher.serving(
        "billing", **billing_env(broker_url, url, STACKGATE_API_URL=api_url)
    )
    async with Publisher(broker_url) as publish:
        await publish.order({"user_id": "3", "number_of_items": "5", "total_amount": "180"})
    await eventually(lambda: rows_at_least(engine, 1), within=10)
    tokens = {}
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as http:
        for user, password, project in (
            ("demo", DEMO_PASSWORD, "demo"),
            ("admin", ADMIN_PASSWORD, "admin"),
        ):
            login = {"username": user, "password": password, "project": project}
            answer = await http.post("/api/v1/auth/tokens", json=login)
            assert answer.status_code == 201, answer.text
            tokens[user] = answer.json()["access_token"]
        me = await http.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['demo']}"}
        )
    demo_project = me.json()["project"]["id"]
    async with httpx.AsyncClient(base_url=billing_url, timeout=10) as http:
        as_demo = {"Authorization": f"Bearer {tokens['demo']}"}
        as_admin = {"Authorization": f"Bearer {tokens['admin']}"}
        usage = await http.get(f"/api/v1/billing/projects/{demo_project}/usage", headers=as_demo)
        other = await http.get("/api/v1/billing/projects/elsewhere/usage", headers=as_demo)
        denied = await http.get("/api/v1/billing/orders", headers=as_demo)
        orders = await http.get("/api/v1/billing/orders", headers=as_admin)
        anonymous = await http.get("/api/v1/billing/orders")
        forged = await http.get("/api/v1/billing/orders", headers={"Authorization": "Bearer x"})
    assert usage.status_code == 200, usage.text
    assert (other.status_code, denied.status_code) == (404, 403)
    assert (anonymous.status_code, forged.status_code) == (401, 401)
    assert orders.status_code == 200, orders.text
    assert [
        (o["user_id"], o["number_of_items"], o["total_amount"]) for o in orders.json()["items"]
    ] == [("3", 5, "180.00")]

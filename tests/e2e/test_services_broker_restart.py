"""RabbitMQ restarted while orders wait and billing is down loses none: N orders posted through
a real `stackgate gateway` process with billing stopped, the broker's application stopped and
started again (`rabbitmqctl stop_app` / `start_app`, always restarted in a finally), then
`stackgate billing` started: exactly N rows. The gateway reconnects by itself afterwards.

This stops the shared RabbitMQ node for a few seconds: marked `broker_restart`, run serially
(pytest runs tests one after another; never run it with xdist or next to another test run)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from stackgate.core.db import create_engine
from stackgate.messaging.topology import BILLING_QUEUE
from tests.e2e.conftest import Launcher, eventually, free_port
from tests.integration.billing.conftest import PG_ADMIN, order_count, order_totals, pg_admin
from tests.messaging_fixtures import Vhost, broker_app_stopped, queue_depth, temporary_vhost

pytestmark = [pytest.mark.e2e, pytest.mark.broker_restart, pytest.mark.services]
N = 200


@pytest.fixture
def vhost() -> Iterator[Vhost]:
    with temporary_vhost("stackgate-test-restart") as made:
        yield made


@pytest.fixture
async def billing_database() -> AsyncIterator[tuple[str, AsyncEngine]]:
    name = f"sg_restart_billing_{uuid.uuid4().hex[:12]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    engine = create_engine(f"{PG_ADMIN}/{name}")
    try:
        yield f"{PG_ADMIN}/{name}", engine
    finally:
        await engine.dispose()
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def order(i: int) -> dict[str, object]:
    return {"user_id": str(i % 11), "number_of_items": i % 4 + 1, "total_amount": f"{i}.25"}


async def test_orders_waiting_through_a_broker_restart_are_all_stored_once(
    launcher: Launcher, vhost: Vhost, billing_database: tuple[str, AsyncEngine]
) -> None:
    billing_url, engine = billing_database
    launcher.env.update(
        STACKGATE_BROKER_URL=vhost.url,
        STACKGATE_BILLING_DATABASE_URL=billing_url,
        STACKGATE_LOG_LEVEL="WARNING",
    )
    _, gateway_url = await launcher.serving(
        "gateway",
        STACKGATE_API_URL=f"http://127.0.0.1:{free_port()}",  # not needed here
        STACKGATE_GATEWAY_RATE_LIMIT="",
    )
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as http:
        for i in range(N):
            answer = await http.post("/api/billing", json=order(i))
            assert answer.status_code == 200, answer.text
        assert await queue_depth(vhost.url, BILLING_QUEUE) == N

        async with broker_app_stopped(vhost.url):
            # Meanwhile the gateway refuses (503 + Retry-After), it never accepts and drops.
            down = await http.post("/api/billing", json=order(N))
            assert down.status_code == 503, down.text
            assert down.headers["retry-after"]

        assert await queue_depth(vhost.url, BILLING_QUEUE) == N

        # The gateway reconnects by itself: one more order once the broker is back.
        async def accepted() -> bool:
            return (await http.post("/api/billing", json=order(N))).status_code == 200

        await eventually(accepted, within=30, interval=0.5)

    await launcher.serving("billing")  # answers once its database schema is upgraded

    async def stored() -> bool:
        return await order_count(engine) >= N + 1

    await eventually(stored, within=60)
    expected_amount = sum(Decimal(f"{i}.25") for i in range(N + 1))
    expected_items = sum(i % 4 + 1 for i in range(N + 1))
    assert await order_totals(engine) == (N + 1, N + 1, expected_amount, expected_items)
    assert await queue_depth(vhost.url, BILLING_QUEUE) == 0

"""The distributed shape as separate processes: `stackgate api`, `stackgate worker`,
`stackgate billing` and `stackgate gateway` on PostgreSQL (databases of this test's own),
RabbitMQ (a vhost of its own) and Redis (the gateway's rate limits), working together.

The seed scenario of issue 5: an order posted through the gateway with billing running is a row
within a second; with billing stopped the gateway still answers 200 and no row appears; billing
started again stores every waiting order exactly once; a server created through the gateway is
rated by billing from the events, and its usage is read through the gateway."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from stackgate.core.db import create_engine
from stackgate.messaging.topology import BILLING_QUEUE
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD
from tests.e2e.conftest import Launcher, Process, eventually, free_port
from tests.e2e.test_services_serve import run_a_server, server_usage, token
from tests.integration.billing.conftest import PG_ADMIN, order_count, order_totals, pg_admin
from tests.messaging_fixtures import Vhost, queue_depth, temporary_vhost

pytestmark = [pytest.mark.e2e, pytest.mark.services]
REDIS_URL = "redis://127.0.0.1:6379/0"
ORDER = {"user_id": "3", "number_of_items": "5", "total_amount": "180"}


@pytest.fixture
def vhost() -> Iterator[Vhost]:
    with temporary_vhost("stackgate-test-split") as made:
        yield made


@pytest.fixture
async def databases() -> AsyncIterator[tuple[str, str]]:
    """(control-plane URL, billing URL): two fresh PostgreSQL databases, dropped afterwards."""
    names = [f"sg_split_{uuid.uuid4().hex[:12]}", f"sg_split_billing_{uuid.uuid4().hex[:12]}"]
    for name in names:
        await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN}/{names[0]}", f"{PG_ADMIN}/{names[1]}"
    finally:
        for name in names:
            await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def billing_engine(databases: tuple[str, str]) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(databases[1])
    yield engine
    await engine.dispose()


async def ready(base_url: str) -> bool:
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        return (await http.get("/health/ready")).status_code == 200


async def start_billing(launcher: Launcher, api_url: str, port: int) -> Process:
    """`stackgate billing` on `port` (the same across restarts: the gateway routes there),
    once its database and broker connection are ready."""
    process = launcher.start("billing", STACKGATE_PORT=str(port), STACKGATE_API_URL=api_url)

    async def answering() -> bool:
        assert process.running, f"stackgate billing died:\n{process.tail()}"
        try:
            return await ready(f"http://127.0.0.1:{port}")
        except httpx.TransportError:
            return False

    await eventually(answering, within=30)
    return process


async def stop(process: Process) -> None:
    process.signal(signal.SIGTERM)
    assert await process.wait(30) in (0, -signal.SIGTERM), process.tail()


async def test_the_seed_scenario_and_usage_through_the_gateway(
    launcher: Launcher,
    vhost: Vhost,
    databases: tuple[str, str],
    billing_engine: AsyncEngine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database_url, billing_database_url = databases
    launcher.env.update(
        STACKGATE_DATABASE_URL=database_url,
        STACKGATE_BILLING_DATABASE_URL=billing_database_url,
        STACKGATE_BROKER_URL=vhost.url,
        STACKGATE_REDIS_URL=REDIS_URL,
        STACKGATE_LOG_LEVEL="WARNING",
    )
    await launcher.run("migrate")
    _, api_url = await launcher.serving("api")
    launcher.start("worker")
    billing_port = free_port()
    billing = await start_billing(launcher, api_url, billing_port)
    _, gateway_url = await launcher.serving(
        "gateway",
        STACKGATE_API_URL=api_url,
        STACKGATE_BILLING_URL=f"http://127.0.0.1:{billing_port}",
        STACKGATE_GATEWAY_RATE_LIMIT="100000/minute",
    )
    await eventually(lambda: ready(gateway_url), within=30)

    async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as http:
        # 1. Billing running: the order is a row within a second.
        started = time.monotonic()
        posted = await http.post("/api/billing", json=ORDER)
        answered = time.monotonic() - started
        assert posted.status_code == 200, posted.text
        assert posted.json() == {"message": "Message posted"}

        async def stored(n: int) -> bool:
            return await order_count(billing_engine) >= n

        await eventually(lambda: stored(1), within=5, interval=0.01)
        latency = time.monotonic() - started
        with capsys.disabled():
            print(
                f"\nseed scenario: POST answered in {answered * 1000:.0f} ms, order row "
                f"committed {latency * 1000:.0f} ms after the POST was sent"
            )
        assert latency < 1.0, f"the order row took {latency:.3f}s"

        # 2. Billing stopped: the gateway still answers 200 to each of 100 posts; no row.
        await stop(billing)
        codes = []
        for i in range(100):
            answer = await http.post(
                "/api/billing",
                json={"user_id": str(i % 7), "number_of_items": i % 3 + 1, "total_amount": i},
            )
            codes.append(answer.status_code)
        assert codes == [200] * 100
        assert await queue_depth(vhost.url, BILLING_QUEUE) == 100
        await asyncio.sleep(0.5)
        assert await order_count(billing_engine) == 1

        # 3. Billing back: all 100 rows, none twice.
        billing = await start_billing(launcher, api_url, billing_port)
        await eventually(lambda: stored(101), within=30)
        await asyncio.sleep(0.5)
        amount = Decimal(180 + sum(range(100)))
        items = 5 + sum(i % 3 + 1 for i in range(100))
        assert await order_totals(billing_engine) == (101, 101, amount, items)
        assert await queue_depth(vhost.url, BILLING_QUEUE) == 0

    # 4. A server created through the gateway is rated by billing from the events (worker ->
    # outbox relay -> stackgate.events -> billing_usage); its usage is read through the gateway,
    # which routes /api/v1/billing to the billing process (that checks the token with the API).
    admin = await token(gateway_url, "admin", ADMIN_PASSWORD, "admin")
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as http:
        orders = await http.get("/api/v1/billing/orders?per_page=1000", headers=admin)
        assert orders.status_code == 200, orders.text
        assert orders.json()["total"] == 101
        http.headers.update(await token(gateway_url, "demo", DEMO_PASSWORD, "demo"))
        project_id, server_id = await run_a_server(http, seconds=3)
        usage = await eventually(
            lambda: server_usage(http, project_id, server_id), within=20, interval=0.25
        )
    (row,) = [r for r in usage["resources"] if r["resource_id"] == server_id]
    assert row["resource_type"] == "server"
    assert Decimal(row["seconds"]) >= 3
    assert Decimal(row["amount"]) > 0

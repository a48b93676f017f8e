"""The billing_queue consumer against the real RabbitMQ and PostgreSQL: one row per message,
committed before the ack, redeliveries absorbed, poison dead-lettered with its reason, database
outages ridden out, two consumers splitting the queue with exact totals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from stackgate.billing import topology
from stackgate.billing.service import BillingService
from stackgate.messaging.topology import BILLING_DEAD_LETTER_QUEUE, BILLING_QUEUE
from tests.integration.billing.conftest import (
    order_count,
    order_totals,
    pg_admin,
    running_consumers,
    wait_for,
)
from tests.messaging_fixtures import Publisher, connect, get_all, queue_depth

pytestmark = pytest.mark.services


async def declare(url: str) -> None:
    """The topology as billing (and the gateway) declare it, before anything is published."""
    connection = await connect(url)
    try:
        await topology.declare_dead_letter_queues(connection)
        channel = await connection.channel()
        await topology.declare_billing_queue(channel)
        await topology.declare_usage_queue(channel)
    finally:
        await connection.close()


class TestOrders:
    async def test_a_message_becomes_one_row_committed_before_its_ack(
        self, service: BillingService, billing_engine: AsyncEngine, broker_url: str
    ) -> None:
        await declare(broker_url)
        seen: list[int] = []

        async def after_commit(queue: str, count: int) -> None:
            # Between commit and ack: the row is visible to anyone. The first time, the consumer
            # then dies before acking: the message comes back (so it was not acked yet) and the
            # redelivery finds its row.
            seen.append(await order_count(billing_engine))
            if len(seen) == 1:
                raise RuntimeError("crash between commit and ack")

        async with Publisher(broker_url) as publish:
            await publish.order({"user_id": "3", "number_of_items": "5", "total_amount": "180"})
        async with running_consumers(broker_url, service, after_commit=after_commit):
            await wait_for(lambda: _at_least(_len(seen), 2), within=15)
            await wait_for(lambda: _zero(queue_depth(broker_url, BILLING_QUEUE)), within=10)
        assert seen == [1, 1]
        assert await order_totals(billing_engine) == (1, 1, Decimal("180.00"), 5)

    async def test_a_redelivered_message_is_counted_once(
        self, service: BillingService, billing_engine: AsyncEngine, broker_url: str
    ) -> None:
        await declare(broker_url)
        async with Publisher(broker_url) as publish:
            for _ in range(3):
                await publish.order(
                    {"user_id": "1", "number_of_items": 1, "total_amount": "9.99"},
                    message_id="same-id",
                )
            await publish.order({"user_id": "1", "number_of_items": 2, "total_amount": "1"})
        async with running_consumers(broker_url, service):
            await wait_for(lambda: _at_least(order_count(billing_engine), 2), within=10)
            await asyncio.sleep(0.5)
        assert await order_totals(billing_engine) == (2, 2, Decimal("10.99"), 3)
        # Once more, with the consumer already holding the first copy's row.
        async with Publisher(broker_url) as publish:
            await publish.order(
                {"user_id": "1", "number_of_items": 1, "total_amount": "9.99"},
                message_id="same-id",
            )
        async with running_consumers(broker_url, service):
            await wait_for(lambda: _zero(queue_depth(broker_url, BILLING_QUEUE)), within=10)
            await asyncio.sleep(0.3)
        assert await order_totals(billing_engine) == (2, 2, Decimal("10.99"), 3)

    async def test_poison_goes_to_the_dead_letter_queue_and_the_rest_go_through(
        self, service: BillingService, billing_engine: AsyncEngine, broker_url: str
    ) -> None:
        await declare(broker_url)
        async with Publisher(broker_url) as publish:
            await publish.order({"user_id": "1", "number_of_items": 1, "total_amount": 1})
            await publish.raw(b"{not json", routing_key=BILLING_QUEUE, message_id="poison-1")
            await publish.order(
                {"user_id": "1", "number_of_items": 1, "total_amount": -5}, message_id="poison-2"
            )
            await publish.order({"number_of_items": 1, "total_amount": 1}, message_id="poison-3")
            for _ in range(10):
                await publish.order({"user_id": "2", "number_of_items": 2, "total_amount": "2.50"})
        async with running_consumers(broker_url, service):
            await wait_for(lambda: _at_least(order_count(billing_engine), 11), within=15)
            await wait_for(
                lambda: _at_least(queue_depth(broker_url, BILLING_DEAD_LETTER_QUEUE), 3), within=15
            )
        assert await order_totals(billing_engine) == (11, 11, Decimal("26.00"), 21)
        dead = await get_all(broker_url, BILLING_DEAD_LETTER_QUEUE)
        reasons = {m.message_id: str((m.headers or {}).get("x-death-reason")) for m in dead}
        assert set(reasons) == {"poison-1", "poison-2", "poison-3"}
        assert "not JSON" in reasons["poison-1"]
        assert "total_amount" in reasons["poison-2"]
        assert "user_id is required" in reasons["poison-3"]
        assert dead[0].body == b"{not json"

    async def test_waiting_messages_are_drained_on_start(
        self, service: BillingService, billing_engine: AsyncEngine, broker_url: str
    ) -> None:
        await declare(broker_url)
        async with Publisher(broker_url) as publish:
            for i in range(100):
                await publish.order(
                    {"user_id": str(i % 7), "number_of_items": 1, "total_amount": 1}
                )
        assert await order_count(billing_engine) == 0
        async with running_consumers(broker_url, service):
            await wait_for(lambda: _at_least(order_count(billing_engine), 100), within=20)
        assert await order_totals(billing_engine) == (100, 100, Decimal("100.00"), 100)

    async def test_two_consumers_split_the_queue_with_exact_totals(
        self, service: BillingService, billing_engine: AsyncEngine, broker_url: str
    ) -> None:
        await declare(broker_url)
        n = 1000
        async with Publisher(broker_url) as publish:
            for i in range(n):
                await publish.order(
                    {
                        "user_id": str(i % 13),
                        "number_of_items": i % 5 + 1,
                        "total_amount": f"{i}.25",
                    }
                )
        expected_sum = sum(Decimal(f"{i}.25") for i in range(n))
        expected_items = sum(i % 5 + 1 for i in range(n))
        async with (
            running_consumers(broker_url, service, prefetch=10) as first,
            running_consumers(broker_url, service, prefetch=10) as second,
        ):
            await wait_for(lambda: _at_least(order_count(billing_engine), n), within=60)
            await asyncio.sleep(0.3)
        assert await order_totals(billing_engine) == (n, n, expected_sum, expected_items)
        assert first.orders.committed > 0 and second.orders.committed > 0
        assert first.orders.committed + second.orders.committed == n


class TestDatabaseOutage:
    async def test_postgresql_unavailable_for_a_while_loses_nothing(
        self,
        service: BillingService,
        billing_engine: AsyncEngine,
        billing_database: tuple[str, str],
        broker_url: str,
    ) -> None:
        await declare(broker_url)
        name = billing_database[0]
        n = 200
        async with running_consumers(broker_url, service, retry_seconds=120):
            async with Publisher(broker_url) as publish:
                for _ in range(50):
                    await publish.order({"user_id": "a", "number_of_items": 1, "total_amount": 1})
                await wait_for(lambda: _at_least(order_count(billing_engine), 50), within=15)
                # The database refuses connections and drops the ones it has.
                await pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                try:
                    await pg_admin(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        f"WHERE datname = '{name}'"
                    )
                    for _ in range(50, n):
                        await publish.order(
                            {"user_id": "a", "number_of_items": 1, "total_amount": 1}
                        )
                    await asyncio.sleep(4)  # the consumer retries meanwhile
                    assert await queue_depth(broker_url, BILLING_DEAD_LETTER_QUEUE) == 0
                finally:
                    await pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await wait_for(lambda: _at_least(order_count(billing_engine), n), within=60)
            await asyncio.sleep(0.5)
        assert await order_totals(billing_engine) == (n, n, Decimal(n), n)
        assert await queue_depth(broker_url, BILLING_DEAD_LETTER_QUEUE) == 0
        assert await queue_depth(broker_url, BILLING_QUEUE) == 0


async def _len(items: list[int]) -> int:
    return len(items)


async def _zero(depth: Awaitable[int]) -> bool:
    return await depth == 0


async def _at_least(count: Awaitable[int], n: int) -> bool:
    return await count >= n

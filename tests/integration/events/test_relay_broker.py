"""The relay against the real RabbitMQ, in this run's vhost: events arrive on stackgate.events
with the contract's properties, billing's queue exists before billing ever ran, and a broker
that goes away while the relay runs loses no event (each is published at least once and is
marked sent only after its confirm)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aio_pika
import httpx
import pytest

from stackgate.bootstrap import Container
from stackgate.events.relay import BrokerSink, OutboxRelay, RelayConfig, build_relay
from stackgate.messaging import topology
from tests.api.network_builders import settle
from tests.integration.helpers import eventually
from tests.messaging_fixtures import purge_queues, queue_depth

from .broker_helpers import bring_back, take_away
from .outbox_helpers import outbox, unpublished

pytestmark = pytest.mark.services

FAST = RelayConfig(poll_interval=0.05, max_backoff=0.5, publish_timeout=3)


@pytest.fixture
async def relay(container: Container, broker_url: str) -> AsyncIterator[OutboxRelay]:
    built = build_relay(
        container.sessionmaker, clock=container.clock, broker_url=broker_url, config=FAST
    )
    assert isinstance(built._sink, BrokerSink)
    yield built
    await built._sink.close()
    # Billing's queue in this vhost is shared with the billing tests of the same run.
    await purge_queues(broker_url, topology.USAGE_QUEUE)


@pytest.fixture
async def tap(broker_url: str) -> AsyncIterator[tuple[aio_pika.abc.AbstractRobustConnection, str]]:
    """A durable test queue bound to every event (it must outlive connections closed by the
    outage), deleted afterwards."""
    connection = await aio_pika.connect_robust(broker_url)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        topology.EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
    )
    name = f"events-tap-{uuid.uuid4().hex[:8]}"
    queue = await channel.declare_queue(name, durable=True)
    await queue.bind(exchange, routing_key="#")
    await connection.close()
    yield connection, name
    connection = await aio_pika.connect_robust(broker_url)
    channel = await connection.channel()
    await channel.queue_delete(name)
    await connection.close()


async def take_all(url: str, queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    connection = await aio_pika.connect_robust(url)
    taken = []
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        while (message := await declared.get(fail=False, no_ack=False)) is not None:
            await message.ack()
            taken.append(message)
    finally:
        await connection.close()
    return taken


async def make_volumes(client: httpx.AsyncClient, container: Container, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = await client.post("/api/v1/volumes", json={"size": 2})
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    await settle(container)
    return ids


@contextlib.asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def test_events_arrive_with_the_contract_properties(
    client: httpx.AsyncClient,
    container: Container,
    relay: OutboxRelay,
    tap: tuple[object, str],
    broker_url: str,
) -> None:
    _, queue = tap
    await make_volumes(client, container, 2)
    rows = {row.id: row for row in await outbox(container)}
    assert await relay.drain() == len(rows)
    assert await unpublished(container) == 0

    messages = await take_all(broker_url, queue)
    assert sorted(m.message_id or "" for m in messages) == sorted(rows)
    # In recording order (one relay, one batch, confirmed in order).
    assert [m.message_id for m in messages] == sorted(rows)
    for message in messages:
        row = rows[message.message_id or ""]
        assert json.loads(message.body) == row.envelope()
        assert message.type == row.event_type
        assert message.routing_key == row.event_type
        assert message.content_type == "application/json"
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert message.exchange == topology.EVENTS_EXCHANGE
        assert isinstance(message.timestamp, datetime)
        stamp = message.timestamp.replace(tzinfo=message.timestamp.tzinfo or UTC)
        assert abs((stamp - row.occurred_at).total_seconds()) < 1
    # Billing's queue was declared (quorum, dead-letter path) and holds every event already.
    assert await queue_depth(broker_url, topology.USAGE_QUEUE) >= len(rows)
    assert await queue_depth(broker_url, topology.USAGE_DEAD_LETTER_QUEUE) == 0


async def test_broker_away_while_relaying_loses_nothing(
    client: httpx.AsyncClient,
    container: Container,
    relay: OutboxRelay,
    tap: tuple[object, str],
    broker_url: str,
) -> None:
    _, queue = tap
    async with running(relay) as task:
        before = await make_volumes(client, container, 2)
        relay.wakeup()

        async def none_left() -> bool:
            return await unpublished(container) == 0

        await eventually(none_left, within=15)
        take_away(broker_url)
        try:
            during = await make_volumes(client, container, 3)
            relay.wakeup()
            await asyncio.sleep(2)
            # Nothing is marked sent that the broker did not confirm.
            assert await unpublished(container) >= 6
            assert not task.done()
        finally:
            bring_back(broker_url)
        await eventually(none_left, within=30)
        after = await make_volumes(client, container, 1)
        await eventually(none_left, within=15)
        assert not task.done()

    rows = await outbox(container)
    assert all(row.published_at is not None for row in rows)
    messages = await take_all(broker_url, queue)
    received = {m.message_id for m in messages}
    # At least once: every recorded event arrived (a resend after a lost confirm may repeat).
    assert {row.id for row in rows} <= received
    created = {json.loads(m.body)["resource_id"] for m in messages if m.type == "volume.create.end"}
    assert created >= set(before + during + after)
    assert max(row.attempts for row in rows) >= 2

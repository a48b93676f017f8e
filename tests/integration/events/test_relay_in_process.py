"""With no broker configured the relay hands every event to the in-process subscribers and
marks it published only once they all returned (events/relay.py, events/subscribers.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update

from stackgate.bootstrap import Container
from stackgate.core.outbox import OutboxEvent
from stackgate.events.relay import OutboxRelay, RelayConfig, SubscriberSink, build_relay
from stackgate.events.subscribers import SubscriberRegistry, default_registry
from tests.api.network_builders import settle
from tests.integration.helpers import eventually

from .outbox_helpers import outbox, unpublished

FAST = RelayConfig(poll_interval=0.02, max_backoff=0.1)


def relay_for(container: Container, registry: SubscriberRegistry) -> OutboxRelay:
    return build_relay(
        container.sessionmaker,
        clock=container.clock,
        broker_url=None,
        config=FAST,
        subscribers=registry,
    )


@contextlib.asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def make_volumes(client: httpx.AsyncClient, container: Container, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = await client.post("/api/v1/volumes", json={"size": 1})
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    await settle(container)
    return ids


def test_bootstrap_wires_an_in_process_relay_without_broker(container: Container) -> None:
    assert container.settings.broker_url is None
    assert container.relay is not None


async def test_subscribers_get_every_event_in_order(
    client: httpx.AsyncClient, container: Container
) -> None:
    await make_volumes(client, container, 3)
    recorded = [row.id for row in await outbox(container)]
    assert len(recorded) >= 6
    got: list[dict[str, Any]] = []
    registry = SubscriberRegistry()
    registry.register(got.append)
    relay = relay_for(container, registry)
    assert await relay.drain() == len(recorded)
    assert [event["event_id"] for event in got] == recorded
    assert await unpublished(container) == 0
    created = [e for e in got if e["event_type"] == "volume.create.end"]
    assert len(created) == 3 and all(e["payload"] == {"size_gb": 1} for e in created)


async def test_with_no_subscriber_events_wait(
    client: httpx.AsyncClient, container: Container
) -> None:
    await make_volumes(client, container, 1)
    registry = SubscriberRegistry()
    relay = relay_for(container, registry)
    assert await relay.relay_once() == (0, 0)
    waiting = await unpublished(container)
    assert waiting > 0
    got: list[dict[str, Any]] = []
    registry.register(got.append)
    assert await relay.drain() == waiting
    assert len(got) == waiting


async def test_a_failing_subscriber_gets_the_event_again_until_it_succeeds(
    client: httpx.AsyncClient, container: Container
) -> None:
    await make_volumes(client, container, 2)
    total = await unpublished(container)
    failures = {"left": 2}
    seen: list[str] = []

    async def flaky(event: dict[str, Any]) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise RuntimeError("billing database away")
        seen.append(event["event_id"])

    registry = SubscriberRegistry()
    registry.register(flaky)
    relay = relay_for(container, registry)
    async with running(relay):

        async def all_published() -> bool:
            return await unpublished(container) == 0

        await eventually(all_published, within=10)
    assert len(seen) == total == len(set(seen))
    rows = await outbox(container)
    assert [row.id for row in rows] == seen
    assert max(row.attempts for row in rows) >= 2


async def test_the_embedded_relay_wakes_on_commit(
    client: httpx.AsyncClient, container: Container
) -> None:
    """The container's own relay (what `stackgate serve` runs) on the process registry."""
    assert container.relay is not None and isinstance(container.relay._sink, SubscriberSink)
    got: list[dict[str, Any]] = []
    remove = default_registry.register(got.append)
    try:
        async with running(container.relay):
            ids = await make_volumes(client, container, 2)

            async def delivered() -> bool:
                ends = {e["resource_id"] for e in got if e["event_type"] == "volume.create.end"}
                return ends == set(ids)

            await eventually(delivered, within=10)
    finally:
        remove()


async def test_published_rows_are_purged_after_the_retention(
    client: httpx.AsyncClient, container: Container
) -> None:
    await make_volumes(client, container, 1)
    registry = SubscriberRegistry()
    registry.register(lambda event: None)
    relay = relay_for(container, registry)
    await relay.drain()
    rows = await outbox(container)
    old, recent = rows[0], rows[1:]
    async with container.sessionmaker() as session, session.begin():
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == old.id)
            .values(published_at=container.clock.now() - FAST.retention - timedelta(minutes=1))
        )
    pending = await make_volumes(client, container, 1)
    # Only rows the live stream has numbered are purged (the stream's resync horizon).
    await container.sequencer.stamp()
    assert pending and await relay.purge() == 1
    left = {row.id for row in await outbox(container)}
    assert old.id not in left and {row.id for row in recent} <= left
    assert await unpublished(container) > 0  # unpublished rows are never purged

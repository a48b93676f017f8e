"""Outbox ids sort in the order they are made; envelopes and messages carry the contract."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika

from stackgate.core.outbox import OutboxEvent, event_id, iso_z
from stackgate.events.relay import SubscriberSink, message_for
from stackgate.events.subscribers import SubscriberRegistry


def test_event_ids_are_uuid7_and_monotonic() -> None:
    ids = [event_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122


def envelope() -> dict[str, Any]:
    row = OutboxEvent(
        id=event_id(),
        event_type="volume.create.end",
        occurred_at=datetime(2026, 11, 22, 8, 0, 1, 250000, tzinfo=UTC),
        project_id="p",
        user_id=None,
        resource_type="volume",
        resource_id="v",
        payload={"size_gb": 3},
    )
    return row.envelope()


def test_envelope_is_the_design_contract() -> None:
    body = envelope()
    assert set(body) == {
        "event_id",
        "event_type",
        "occurred_at",
        "project_id",
        "user_id",
        "resource_type",
        "resource_id",
        "payload",
    }
    assert body["occurred_at"] == "2026-11-22T08:00:01.250000Z"
    assert iso_z(datetime(2026, 1, 1)) == "2026-01-01T00:00:00Z"


def test_message_properties() -> None:
    body = envelope()
    message = message_for(body)
    assert json.loads(message.body) == body
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.message_id == body["event_id"]
    assert message.type == "volume.create.end"
    assert message.content_type == "application/json"
    assert message.timestamp is not None


async def test_subscriber_sink_stops_at_the_first_failure() -> None:
    registry = SubscriberRegistry()
    seen: list[str] = []

    async def flaky(event: dict[str, Any]) -> None:
        if event["resource_id"] == "bad":
            raise RuntimeError("boom")
        seen.append(event["resource_id"])

    remove = registry.register(flaky)
    sink = SubscriberSink(registry)
    assert sink.ready()
    events = [envelope() | {"resource_id": rid} for rid in ("a", "bad", "c")]
    assert await sink.deliver(events) == [True, False, False]
    assert seen == ["a"]
    remove()
    assert not sink.ready()


async def test_subscribers_get_copies() -> None:
    registry = SubscriberRegistry()
    got: list[dict[str, Any]] = []

    def mutate(event: dict[str, Any]) -> None:
        event["payload"]["size_gb"] = 99

    registry.register(mutate)
    registry.register(got.append)
    await registry.deliver(envelope())
    assert got[0]["payload"] == {"size_gb": 3}

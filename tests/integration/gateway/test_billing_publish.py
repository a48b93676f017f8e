"""POST /api/billing against the real RabbitMQ: what reaches billing_queue, and what does not."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import pytest

from stackgate.messaging.topology import BILLING_DEAD_LETTER_QUEUE, BILLING_QUEUE, DELIVERY_LIMIT
from tests.integration.gateway.conftest import GatewayFactory
from tests.messaging_fixtures import Vhost

pytestmark = pytest.mark.services

ORDER = {"user_id": "3", "number_of_items": "5", "total_amount": "180"}


async def take(channel: aio_pika.abc.AbstractChannel) -> aio_pika.abc.AbstractIncomingMessage:
    queue = await channel.declare_queue(BILLING_QUEUE, passive=True)
    for _ in range(50):
        message = await queue.get(fail=False)
        if message is not None:
            await message.ack()
            return message
        await asyncio.sleep(0.05)
    pytest.fail("no message in billing_queue")


async def depth(channel: aio_pika.abc.AbstractChannel) -> int:
    queue = await channel.declare_queue(BILLING_QUEUE, passive=True)
    return int(queue.declaration_result.message_count or 0)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestPublish:
    async def test_an_order_lands_in_billing_queue_persistent_with_an_id(
        self, gateway: GatewayFactory, gateway_vhost: Vhost, amqp: aio_pika.abc.AbstractChannel
    ) -> None:
        body = json.dumps(ORDER).encode()
        async with gateway(broker_url=gateway_vhost.url) as http:
            answer = await http.post(
                "/api/billing", content=body, headers={"Content-Type": "application/json"}
            )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"message": "Message posted"}
        message = await take(amqp)
        assert message.body == body  # as received
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert message.message_id and len(message.message_id) == 36
        assert message.content_type == "application/json"
        assert message.timestamp is not None
        assert abs(message.timestamp - datetime.now(UTC)) < timedelta(minutes=1)

    async def test_the_idempotency_key_becomes_the_message_id(
        self, gateway: GatewayFactory, gateway_vhost: Vhost, amqp: aio_pika.abc.AbstractChannel
    ) -> None:
        async with gateway(broker_url=gateway_vhost.url) as http:
            answer = await http.post("/api/billing", json=ORDER, headers={"Idempotency-Key": "o-1"})
        assert answer.status_code == 200, answer.text
        assert (await take(amqp)).message_id == "o-1"

    async def test_both_paths_answer_directly_without_a_redirect(
        self, gateway: GatewayFactory, gateway_vhost: Vhost, amqp: aio_pika.abc.AbstractChannel
    ) -> None:
        async with gateway(broker_url=gateway_vhost.url) as http:
            for path in ("/api/billing", "/api/billing/"):
                answer = await http.post(path, json=ORDER)
                assert answer.status_code == 200, (path, answer.status_code, answer.text)
        assert await depth(amqp) == 2

    async def test_the_gateway_declares_the_queue_at_startup(
        self, gateway: GatewayFactory, gateway_vhost: Vhost, amqp: aio_pika.abc.AbstractChannel
    ) -> None:
        async with gateway(broker_url=gateway_vhost.url):
            # No POST yet: the queue (and its dead-letter side) exist with the shared arguments,
            # so an order posted before billing ever ran waits in it.
            queue = await amqp.declare_queue(
                BILLING_QUEUE,
                durable=True,
                arguments={
                    "x-queue-type": "quorum",
                    "x-delivery-limit": DELIVERY_LIMIT,
                    "x-dead-letter-exchange": "billing_queue.dlx",
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                },
            )
            assert queue.name == BILLING_QUEUE
            await amqp.declare_queue(BILLING_DEAD_LETTER_QUEUE, passive=True)


BAD_BODIES: list[tuple[str, Any, int]] = [
    ("not json", b"{user_id: 3", 400),
    ("a list", [ORDER], 422),
    ("a string", "hello", 422),
    ("null", None, 422),
    ("no user_id", {"number_of_items": 5, "total_amount": 1}, 422),
    ("blank user_id", {**ORDER, "user_id": "  "}, 422),
    ("boolean user_id", {**ORDER, "user_id": True}, 422),
    ("object user_id", {**ORDER, "user_id": {"id": 3}}, 422),
    ("zero items", {**ORDER, "number_of_items": 0}, 422),
    ("negative items", {**ORDER, "number_of_items": "-2"}, 422),
    ("fractional items", {**ORDER, "number_of_items": "2.5"}, 422),
    ("items not a number", {**ORDER, "number_of_items": "five"}, 422),
    ("missing items", {"user_id": "3", "total_amount": "1"}, 422),
    ("negative amount", {**ORDER, "total_amount": "-1"}, 422),
    ("amount not a number", {**ORDER, "total_amount": "abc"}, 422),
    ("amount NaN", {**ORDER, "total_amount": "NaN"}, 422),
    ("amount Infinity", {**ORDER, "total_amount": "Infinity"}, 422),
    ("boolean amount", {**ORDER, "total_amount": False}, 422),
    ("missing amount", {"user_id": "3", "number_of_items": 1}, 422),
    ("an unknown field", {**ORDER, "note": "gift"}, 422),
]
GOOD_BODIES: list[tuple[str, Any]] = [
    ("numeric strings", ORDER),
    ("numbers", {"user_id": 3, "number_of_items": 5, "total_amount": 180}),
    ("decimal amount", {"user_id": "u-7", "number_of_items": 1, "total_amount": "19.99"}),
    ("zero amount", {"user_id": "u-7", "number_of_items": "1", "total_amount": 0}),
]


class TestValidation:
    @pytest.mark.parametrize("case,body,status", BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
    async def test_bad_input_is_refused_and_publishes_nothing(
        self,
        gateway: GatewayFactory,
        gateway_vhost: Vhost,
        amqp: aio_pika.abc.AbstractChannel,
        case: str,
        body: Any,
        status: int,
    ) -> None:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with gateway(broker_url=gateway_vhost.url) as http:
            answer = await http.post(
                "/api/billing", content=content, headers={"Content-Type": "application/json"}
            )
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["request_id"] == answer.headers["x-request-id"]
        assert await depth(amqp) == 0

    @pytest.mark.parametrize("case,body", GOOD_BODIES, ids=[c[0] for c in GOOD_BODIES])
    async def test_good_input_is_published_as_sent(
        self,
        gateway: GatewayFactory,
        gateway_vhost: Vhost,
        amqp: aio_pika.abc.AbstractChannel,
        case: str,
        body: Any,
    ) -> None:
        async with gateway(broker_url=gateway_vhost.url) as http:
            answer = await http.post("/api/billing", json=body)
        assert answer.status_code == 200, answer.text
        assert json.loads((await take(amqp)).body) == body

    async def test_every_broken_rule_and_unknown_field_is_named_at_once(
        self, gateway: GatewayFactory, gateway_vhost: Vhost, amqp: aio_pika.abc.AbstractChannel
    ) -> None:
        body = {"user_id": " ", "number_of_items": 0, "total_ammount": "1", "note": "gift"}
        async with gateway(broker_url=gateway_vhost.url) as http:
            answer = await http.post("/api/billing", json=body)
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert [(e["loc"], e["type"]) for e in problem["errors"]] == [
            (["body", "user_id"], "value_error"),
            (["body", "number_of_items"], "value_error"),
            (["body", "total_amount"], "missing"),
            (["body", "total_ammount"], "extra_forbidden"),
            (["body", "note"], "extra_forbidden"),
        ]
        for name in ("user_id", "number_of_items", "total_amount", "'total_ammount'", "'note'"):
            assert name in problem["detail"]
        assert await depth(amqp) == 0


class TestBrokerAway:
    async def test_an_unreachable_broker_answers_503_with_retry_after_quickly(
        self, gateway: GatewayFactory
    ) -> None:
        url = f"amqp://guest:guest@127.0.0.1:{closed_port()}/"
        async with gateway(broker_url=url) as http:
            for _ in range(3):
                started = time.monotonic()
                answer = await http.post("/api/billing", json=ORDER)
                assert time.monotonic() - started < 5
                assert answer.status_code == 503, answer.text
                assert answer.headers["retry-after"] == "5"
                assert answer.json()["code"] == "broker_unavailable"
            ready = await http.get("/health/ready")
        assert ready.status_code == 503
        assert {c["name"]: c["status"] for c in ready.json()["checks"]}["broker"] == "down"

    async def test_an_unroutable_message_is_an_error_not_a_silent_drop(
        self, gateway: GatewayFactory, gateway_vhost: Vhost, amqp: aio_pika.abc.AbstractChannel
    ) -> None:
        async with gateway(broker_url=gateway_vhost.url) as http:
            assert (await http.post("/api/billing", json=ORDER)).status_code == 200
            await amqp.queue_delete(BILLING_QUEUE)  # behind the gateway's back
            try:
                answer = await http.post("/api/billing", json=ORDER)
                assert answer.status_code == 503, answer.text
            finally:
                from stackgate.messaging.topology import quorum_arguments

                await amqp.declare_queue(
                    BILLING_QUEUE, durable=True, arguments=quorum_arguments("billing_queue.dlx")
                )

    async def test_without_a_broker_or_in_process_billing_orders_answer_503(
        self, gateway: GatewayFactory
    ) -> None:
        async with gateway(broker_url=None) as http:
            answer = await http.post("/api/billing", json=ORDER)
        assert answer.status_code == 503
        assert answer.json()["code"] == "billing_unavailable"
        assert "retry-after" in answer.headers

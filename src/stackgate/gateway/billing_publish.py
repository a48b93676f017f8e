"""How `POST /api/billing` hands a message on: to RabbitMQ's `billing_queue` with publisher
confirms (the distributed shape), to the in-process billing consumer (`stackgate serve` without
a broker), or nowhere (503).

The RabbitMQ path avoids each default that loses a message (reference/reliability.md 4.2):
persistent delivery mode, `mandatory` with `on_return_raises` (an unroutable message is an
error, not a silent drop), a confirm channel, and an answer only after the broker's ack. The
gateway declares the queue itself (with the shared topology's arguments), so messages posted
before billing ever ran wait in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from aio_pika.exceptions import ChannelPreconditionFailed

from stackgate.gateway.errors import BillingUnavailable, BrokerUnavailable
from stackgate.messaging.topology import (
    BILLING_DEAD_LETTER_EXCHANGE,
    BILLING_DEAD_LETTER_QUEUE,
    BILLING_QUEUE,
    quorum_arguments,
)

log = structlog.get_logger("stackgate.gateway.billing")

RETRY_AFTER = 5
DeliverOrder = Callable[[bytes, str], Awaitable[None]]


class BillingPublisher(Protocol):
    """Takes one order message; returns only once it is safely stored, else raises
    ServiceUnavailable (the caller answers 503 and nothing was accepted)."""

    name: str

    async def start(self) -> None: ...

    async def publish(self, body: bytes, *, message_id: str) -> None: ...

    async def check(self) -> None: ...

    async def close(self) -> None: ...


async def declare_billing_topology(
    connection: AbstractRobustConnection, channel: AbstractChannel
) -> None:
    """billing_queue (durable quorum, delivery limit, DLX) and its dead-letter side, with the
    same arguments as every other process (messaging/topology.py; billing/topology.py declares
    the same). The dead-letter side goes on a channel of its own: a dead-letter queue that
    exists with other arguments fails its declaration (406, which closes the channel) and is
    then used as it is."""
    side = await connection.channel()
    try:
        dlx = await side.declare_exchange(
            BILLING_DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True
        )
        try:
            dead = await side.declare_queue(
                BILLING_DEAD_LETTER_QUEUE, durable=True, arguments={"x-queue-type": "quorum"}
            )
            await dead.bind(dlx, routing_key="")
        except ChannelPreconditionFailed as exc:
            log.warning(
                "dead_letter_queue_differs", queue=BILLING_DEAD_LETTER_QUEUE, error=str(exc)
            )
    finally:
        with contextlib.suppress(Exception):
            await side.close()
    await channel.declare_queue(
        BILLING_QUEUE, durable=True, arguments=quorum_arguments(BILLING_DEAD_LETTER_EXCHANGE)
    )


class AmqpBillingPublisher:
    """One robust connection and one confirm channel per gateway process.

    The first connection is made at startup when the broker answers, else lazily by the next
    publish (at most once a second, so a dead broker costs each request one fast 503, not a
    connect attempt). Once connected, aio-pika's robust connection reconnects by itself; the
    topology is declared again after each reconnect before the next publish.
    """

    name = "broker"

    def __init__(
        self, url: str, *, publish_timeout: float = 5.0, connect_timeout: float = 3.0
    ) -> None:
        self._url = url
        self._publish_timeout = publish_timeout
        self._connect_timeout = connect_timeout
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._declared = False
        self._lock = asyncio.Lock()
        self._next_attempt = 0.0

    async def start(self) -> None:
        try:
            await self._ready_channel()
        except BrokerUnavailable as exc:
            log.warning("broker_unreachable_at_start", error=exc.detail)

    async def _ready_channel(self) -> AbstractChannel:
        async with self._lock:
            if self._connection is None:
                if time.monotonic() < self._next_attempt:
                    raise BrokerUnavailable("the message broker is unreachable", RETRY_AFTER)
                try:
                    self._connection = await aio_pika.connect_robust(
                        self._url,
                        timeout=self._connect_timeout,
                        client_properties={"connection_name": "stackgate-gateway"},
                    )
                except Exception as exc:
                    self._next_attempt = time.monotonic() + 1.0
                    log.warning("broker_connect_failed", error=repr(exc))
                    raise BrokerUnavailable(
                        "the message broker is unreachable", RETRY_AFTER
                    ) from exc
                self._connection.reconnect_callbacks.add(self._on_reconnect)
                self._channel = await self._connection.channel(
                    publisher_confirms=True, on_return_raises=True
                )
            assert self._channel is not None
            if not self._declared:
                assert self._connection is not None
                await asyncio.wait_for(
                    declare_billing_topology(self._connection, self._channel), self._publish_timeout
                )
                self._declared = True
            return self._channel

    def _on_reconnect(self, *_: object) -> None:
        self._declared = False

    async def publish(self, body: bytes, *, message_id: str) -> None:
        message = aio_pika.Message(
            body,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message_id,
            content_type="application/json",
            timestamp=datetime.now(UTC),
        )
        try:
            channel = await self._ready_channel()
            await asyncio.wait_for(
                channel.default_exchange.publish(
                    message, routing_key=BILLING_QUEUE, mandatory=True
                ),
                self._publish_timeout,
            )
        except BrokerUnavailable:
            raise
        except Exception as exc:
            # A nack, a return (unroutable), a closed channel, a lost connection or no confirm
            # in time: the broker did not take responsibility, so neither do we.
            log.warning("billing_publish_failed", message_id=message_id, error=repr(exc))
            if isinstance(exc, TimeoutError | asyncio.TimeoutError):
                detail = "the message broker did not confirm the message in time"
            else:
                detail = "the message broker did not accept the message"
            raise BrokerUnavailable(detail, RETRY_AFTER) from exc

    async def check(self) -> None:
        await self._ready_channel()
        assert self._connection is not None
        if self._connection.is_closed or self._channel is None or self._channel.is_closed:
            raise ConnectionError("the broker connection is down (reconnecting)")

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


class InProcessBillingPublisher:
    """`stackgate serve` without a broker: hand the order to the billing consumer running in
    this process, which stores it before returning."""

    name = "billing"

    def __init__(self, deliver: DeliverOrder) -> None:
        self._deliver = deliver

    async def start(self) -> None:
        return None

    async def publish(self, body: bytes, *, message_id: str) -> None:
        await self._deliver(body, message_id)

    async def check(self) -> None:
        return None

    async def close(self) -> None:
        return None


class NoBillingPublisher:
    """Neither a broker nor an in-process billing consumer: every order answers 503."""

    name = "billing"

    async def start(self) -> None:
        return None

    async def publish(self, body: bytes, *, message_id: str) -> None:
        raise BillingUnavailable(
            "no message broker is configured (STACKGATE_BROKER_URL) and billing does not run "
            "in this process",
            RETRY_AFTER,
        )

    async def check(self) -> None:
        raise ConnectionError("no broker configured and no in-process billing")

    async def close(self) -> None:
        return None

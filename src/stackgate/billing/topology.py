"""Declares billing's part of the RabbitMQ topology exactly as stackgate.messaging.topology
names it (the gateway declares billing_queue the same way, so either may start first).

Dead-letter side: each DLX is a durable fanout exchange bound to a durable quorum queue (no
delivery limit, no DLX of its own). A dead-letter queue that already exists with other arguments
is used as it is (a warning, not a failure): it only has to hold the messages.
"""

from __future__ import annotations

import contextlib
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractQueue
from aio_pika.exceptions import ChannelPreconditionFailed

from stackgate.messaging.topology import (
    BILLING_DEAD_LETTER_EXCHANGE,
    BILLING_DEAD_LETTER_QUEUE,
    BILLING_QUEUE,
    EVENTS_EXCHANGE,
    USAGE_DEAD_LETTER_EXCHANGE,
    USAGE_DEAD_LETTER_QUEUE,
    USAGE_QUEUE,
    quorum_arguments,
)

log = structlog.get_logger("stackgate.billing")

DEAD_LETTER_QUEUE_ARGUMENTS: dict[str, Any] = {"x-queue-type": "quorum"}


async def _dead_letter_side(connection: AbstractConnection, exchange: str, queue: str) -> None:
    channel = await connection.channel()
    try:
        await channel.declare_exchange(exchange, aio_pika.ExchangeType.FANOUT, durable=True)
        try:
            dead = await channel.declare_queue(
                queue, durable=True, arguments=DEAD_LETTER_QUEUE_ARGUMENTS
            )
        except ChannelPreconditionFailed as exc:
            log.warning(
                "dead-letter queue exists with other arguments", queue=queue, error=str(exc)
            )
            channel = await connection.channel()
            dead = await channel.declare_queue(queue, passive=True)
        await dead.bind(exchange)
    finally:
        with contextlib.suppress(Exception):
            await channel.close()


async def declare_dead_letter_queues(connection: AbstractConnection) -> None:
    """The two DLX -> DLQ pairs of billing (on their own channels: a failed declaration closes
    the channel it ran on)."""
    await _dead_letter_side(connection, BILLING_DEAD_LETTER_EXCHANGE, BILLING_DEAD_LETTER_QUEUE)
    await _dead_letter_side(connection, USAGE_DEAD_LETTER_EXCHANGE, USAGE_DEAD_LETTER_QUEUE)


async def declare_billing_queue(channel: AbstractChannel) -> AbstractQueue:
    return await channel.declare_queue(
        BILLING_QUEUE, durable=True, arguments=quorum_arguments(BILLING_DEAD_LETTER_EXCHANGE)
    )


async def declare_usage_queue(channel: AbstractChannel) -> AbstractQueue:
    events = await channel.declare_exchange(
        EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(
        USAGE_QUEUE, durable=True, arguments=quorum_arguments(USAGE_DEAD_LETTER_EXCHANGE)
    )
    await queue.bind(events, routing_key="#")
    return queue

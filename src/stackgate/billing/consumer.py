"""The billing consumers: billing_queue -> orders, billing_usage -> usage events.

Delivery semantics (reference/reliability.md 4):
- manual acks, a small prefetch; a batch (whatever has arrived, up to the prefetch) is parsed,
  stored in ONE transaction (insert-if-absent on the message/event id), committed, and only
  then acked (one `multiple` ack per batch). A crash between commit and ack redelivers the
  batch, which the unique key absorbs.
- a message that cannot be parsed or validated is poison: it is republished, unchanged but for
  an `x-death-reason` header, to the queue's dead-letter exchange (confirmed), then acked; if
  that publish fails it is rejected without requeue, which dead-letters it too (reason in the
  log). It never blocks the queue.
- a failure to store (database down, connection lost, anything else) is transient: the batch is
  retried in place with capped exponential backoff for up to `retry_seconds` (default 600 s,
  well under the broker's 30-minute delivery timeout), and only then nacked with requeue after
  a short pause. Retrying in place keeps the quorum queue's delivery count (limit 5) untouched
  during an outage; a message is dead-lettered by that limit only after five full retry windows
  (~50 minutes of continuous failure by default).
- on shutdown the consumer is cancelled first and what was already delivered is finished, so a
  graceful restart returns nothing to the queue (on RabbitMQ 3.10 every return counts toward the
  delivery limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from stackgate.billing import topology
from stackgate.billing.messages import (
    Event,
    InvalidMessage,
    OrderMessage,
    fallback_message_id,
    parse_event,
    parse_order,
)
from stackgate.billing.service import BillingService
from stackgate.messaging.topology import BILLING_DEAD_LETTER_EXCHANGE, USAGE_DEAD_LETTER_EXCHANGE

log = structlog.get_logger("stackgate.billing")
T = TypeVar("T")

# (queue, messages committed), called between the commit and the acks: a hook for tests.
AfterCommit = Callable[[str, int], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    prefetch: int = 20
    retry_seconds: float = 600.0
    nack_delay: float = 1.0
    max_backoff: float = 5.0


class BatchConsumer(Generic[T]):
    """Consumes one queue: parse, store a batch in one transaction, then ack."""

    def __init__(
        self,
        *,
        name: str,
        declare: Callable[[AbstractChannel], Awaitable[AbstractQueue]],
        dead_letter_exchange: str,
        parse: Callable[[AbstractIncomingMessage], T],
        store: Callable[[Sequence[T]], Awaitable[None]],
        config: ConsumerConfig,
        after_commit: AfterCommit | None = None,
    ) -> None:
        self.name = name
        self._declare = declare
        self._dead_letter_exchange = dead_letter_exchange
        self._parse = parse
        self._store = store
        self._config = config
        self._after_commit = after_commit
        self._inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self.committed = 0
        self.dead_lettered = 0

    async def _deliver(self, message: AbstractIncomingMessage) -> None:
        await self._inbox.put(message)

    async def run(self, connection: AbstractRobustConnection, stop: asyncio.Event) -> None:
        """Consume until `stop` is set, then finish what was delivered and return."""
        channel = await connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=self._config.prefetch)
        queue = await self._declare(channel)
        self._channel = channel
        tag = await queue.consume(self._deliver, no_ack=False)
        log.info("billing consumer started", queue=self.name, prefetch=self._config.prefetch)
        try:
            while not stop.is_set():
                batch = await self._next_batch(stop)
                if batch:
                    await self._handle(batch, stop)
        finally:
            with contextlib.suppress(Exception):
                await queue.cancel(tag)
            # Whatever was delivered before the cancel is finished, not returned to the queue.
            while not self._inbox.empty():
                await self._handle(self._drain(), stop)
            with contextlib.suppress(Exception):
                await channel.close()

    def _drain(self) -> list[AbstractIncomingMessage]:
        batch: list[AbstractIncomingMessage] = []
        while len(batch) < self._config.prefetch and not self._inbox.empty():
            batch.append(self._inbox.get_nowait())
        return batch

    async def _next_batch(self, stop: asyncio.Event) -> list[AbstractIncomingMessage]:
        getter = asyncio.ensure_future(self._inbox.get())
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if not getter.done():
            getter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await getter
            return []
        return [getter.result(), *self._drain()]

    async def _handle(self, batch: list[AbstractIncomingMessage], stop: asyncio.Event) -> None:
        good: list[tuple[AbstractIncomingMessage, T]] = []
        for message in batch:
            try:
                good.append((message, self._parse(message)))
            except InvalidMessage as exc:
                await self._dead_letter(message, exc.reason)
        if not good:
            return
        if await self._store_with_retry([item for _, item in good], stop):
            self.committed += len(good)
            if self._after_commit is not None:
                outcome = self._after_commit(self.name, len(good))
                if inspect.isawaitable(outcome):
                    await outcome
            for last in _last_per_channel([message for message, _ in good]):
                await _settle(last.ack(multiple=True))
            return
        await asyncio.sleep(self._config.nack_delay)
        for last in _last_per_channel([message for message, _ in good]):
            await _settle(last.nack(multiple=True, requeue=True))

    async def _store_with_retry(self, items: list[T], stop: asyncio.Event) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._config.retry_seconds
        delay, attempt = 0.1, 1
        while True:
            try:
                await self._store(items)
                return True
            except Exception as exc:
                if loop.time() + delay > deadline or stop.is_set():
                    log.error(
                        "billing store failed; returning the batch to the queue",
                        queue=self.name,
                        messages=len(items),
                        attempts=attempt,
                        error=f"{type(exc).__name__}: {exc}"[:500],
                    )
                    return False
                log.warning(
                    "billing store failed; retrying",
                    queue=self.name,
                    attempt=attempt,
                    retry_in=delay,
                    error=f"{type(exc).__name__}: {exc}"[:300],
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay, attempt = min(delay * 2, self._config.max_backoff), attempt + 1

    async def _dead_letter(self, message: AbstractIncomingMessage, reason: str) -> None:
        """Poison: to the dead-letter queue with its reason, then off this queue."""
        self.dead_lettered += 1
        log.warning(
            "billing message dead-lettered",
            queue=self.name,
            message_id=message.message_id,
            reason=reason,
        )
        headers = dict(message.headers or {})
        headers.update({"x-death-reason": reason[:1000], "x-original-queue": self.name})
        copy = aio_pika.Message(
            message.body,
            headers=headers,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            timestamp=message.timestamp,
            type=message.type,
            correlation_id=message.correlation_id,
        )
        try:
            exchange = await self._channel.get_exchange(self._dead_letter_exchange, ensure=False)
            await exchange.publish(copy, routing_key=self.name, mandatory=True)
        except Exception as exc:
            log.warning("dead-letter publish failed; rejecting", queue=self.name, error=str(exc))
            await _settle(message.reject(requeue=False))
            return
        await _settle(message.ack())


def _last_per_channel(
    messages: list[AbstractIncomingMessage],
) -> list[AbstractIncomingMessage]:
    """The message with the highest delivery tag of each channel in a batch. Acking it with
    `multiple` settles the whole batch in one frame: one batch is in flight per consumer and
    deliveries are taken in order, so every lower tag of that channel is in this batch or was
    settled before (poison messages are settled one by one first). After a reconnect a batch
    may span the old and the new channel, hence one per channel."""
    last: dict[int, AbstractIncomingMessage] = {}
    for message in messages:
        key = id(message.channel)
        tag = message.delivery_tag or 0
        if key not in last or tag > (last[key].delivery_tag or 0):
            last[key] = message
    return list(last.values())


async def _settle(action: Awaitable[None]) -> None:
    """Ack/nack/reject; on a closed channel the broker has already requeued the message, and
    the redelivery is absorbed by the unique key, so a failure here is only logged."""
    try:
        await action
    except Exception as exc:
        log.info("could not settle a delivery (it will be redelivered)", error=str(exc))


def parse_order_message(message: AbstractIncomingMessage) -> OrderMessage:
    message_id = message.message_id or fallback_message_id(message.body, message.timestamp)
    return parse_order(message.body, message_id=message_id)


def parse_event_message(message: AbstractIncomingMessage) -> Event:
    return parse_event(message.body)


def order_consumer(
    service: BillingService, config: ConsumerConfig, after_commit: AfterCommit | None = None
) -> BatchConsumer[OrderMessage]:
    return BatchConsumer(
        name="billing_queue",
        declare=topology.declare_billing_queue,
        dead_letter_exchange=BILLING_DEAD_LETTER_EXCHANGE,
        parse=parse_order_message,
        store=service.record_orders,
        config=config,
        after_commit=after_commit,
    )


def usage_consumer(
    service: BillingService, config: ConsumerConfig, after_commit: AfterCommit | None = None
) -> BatchConsumer[Event]:
    return BatchConsumer(
        name="billing_usage",
        declare=topology.declare_usage_queue,
        dead_letter_exchange=USAGE_DEAD_LETTER_EXCHANGE,
        parse=parse_event_message,
        store=service.record_events,
        config=config,
        after_commit=after_commit,
    )


async def connect(url: str, stop: asyncio.Event) -> AbstractRobustConnection | None:
    """A robust connection (it reconnects and restores consumers by itself once up); retries
    the first connect until it succeeds or `stop` is set."""
    delay = 0.5
    while not stop.is_set():
        try:
            return await aio_pika.connect_robust(
                url, client_properties={"connection_name": "stackgate-billing"}
            )
        except Exception as exc:
            log.warning("broker unreachable; retrying", error=str(exc), retry_in=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 10.0)
    return None


class BillingConsumers:
    """Both consumers of one billing process on one connection."""

    def __init__(
        self,
        url: str,
        service: BillingService,
        config: ConsumerConfig,
        *,
        after_commit: AfterCommit | None = None,
    ) -> None:
        self.url = url
        self.orders = order_consumer(service, config, after_commit)
        self.usage = usage_consumer(service, config, after_commit)
        self.connection: AbstractRobustConnection | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                self.connection = await connect(self.url, self._stop)
                if self.connection is None:
                    return
                await topology.declare_dead_letter_queues(self.connection)
                async with asyncio.TaskGroup() as group:
                    group.create_task(self.orders.run(self.connection, self._stop))
                    group.create_task(self.usage.run(self.connection, self._stop))
                return
            except Exception as exc:
                # E.g. the broker went away while declaring: start over on a new connection.
                log.error("billing consumers failed; restarting", error=repr(exc), retry_in=delay)
                if self.connection is not None:
                    with contextlib.suppress(Exception):
                        await self.connection.close()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                delay = min(delay * 2, 10.0)

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run())
        self._task.add_done_callback(_report_crash)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 30)
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.close()

    async def check(self) -> None:
        """Readiness: the broker connection is up."""
        if self.connection is None or self.connection.is_closed:
            raise ConnectionError("not connected to the broker")


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("billing consumers stopped", error=repr(task.exception()))

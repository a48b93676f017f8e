"""The outbox relay: publish recorded events, mark each sent only once it is safe elsewhere.

A loop claims unpublished outbox rows in id order with a lease (`SELECT ... FOR UPDATE SKIP
LOCKED` on PostgreSQL/MariaDB, a conditional update everywhere, as the operation claim does), so
several relays share the table and a crashed relay's rows come back when the lease runs out.
It then delivers them outside any transaction:

- to RabbitMQ (topic exchange `stackgate.events`, routing key = event type) as persistent
  messages with publisher confirms; `published_at` is stamped only for confirmed messages;
- with no broker configured, to the in-process subscribers (events/subscribers.py), stamped
  once every subscriber returned. While nobody subscribes, events wait in the table.

A broker that goes away (or refuses) makes the relay back off and retry; the robust connection
comes back by itself and the backlog is published in order. Delivery is at least once (a
confirm lost with the connection means a resend): consumers deduplicate by `event_id`.
Published rows are purged after a retention period.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import aio_pika
import structlog
from aio_pika.abc import AbstractExchange, AbstractRobustConnection
from aiormq.exceptions import ChannelPreconditionFailed
from pamqp.commands import Basic
from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.clock import Clock
from stackgate.core.outbox import SEQUENCE_ROW, EventSequence, OutboxEvent
from stackgate.events.subscribers import SubscriberRegistry, default_registry
from stackgate.events.wakeup import Wakeup
from stackgate.messaging import topology

log = structlog.get_logger("stackgate.events")


@dataclass(frozen=True, slots=True)
class RelayConfig:
    batch_size: int = 100
    poll_interval: float = 0.5
    max_backoff: float = 5.0
    lease: timedelta = timedelta(seconds=60)
    retention: timedelta = timedelta(days=7)
    purge_interval: float = 300.0
    publish_timeout: float = 10.0


class Sink(Protocol):
    """Where events go; returns, per event and in order, whether it is safely delivered."""

    def ready(self) -> bool: ...

    async def deliver(self, events: Sequence[dict[str, Any]]) -> list[bool]: ...

    async def close(self) -> None: ...


class SubscriberSink:
    """No broker: hand each event to the in-process subscribers, in order; stop at the first
    failure so later events do not overtake it (they are retried with it)."""

    def __init__(self, registry: SubscriberRegistry) -> None:
        self._registry = registry

    def ready(self) -> bool:
        return len(self._registry) > 0

    async def deliver(self, events: Sequence[dict[str, Any]]) -> list[bool]:
        results: list[bool] = []
        for envelope in events:
            try:
                await self._registry.deliver(envelope)
            except Exception:
                log.exception("event_subscriber_failed", event_id=envelope["event_id"])
                break
            results.append(True)
        return results + [False] * (len(events) - len(results))

    async def close(self) -> None:
        return None


def message_for(envelope: dict[str, Any]) -> aio_pika.Message:
    """The AMQP message of one event (the design's property list; persistent, never the
    library's NOT_PERSISTENT default)."""
    return aio_pika.Message(
        body=json.dumps(envelope, separators=(",", ":")).encode(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=envelope["event_id"],
        type=envelope["event_type"],
        timestamp=datetime.fromisoformat(envelope["occurred_at"].replace("Z", "+00:00")),
        app_id="stackgate",
    )


async def declare_topology(url: str) -> None:
    """The events exchange and billing's usage queue with its dead-letter path, so no event is
    dropped before billing first runs. Each declaration on its own short-lived channel of a plain
    connection: a queue someone declared with other arguments (PRECONDITION_FAILED) is left as
    it is instead of breaking the relay."""
    connection = await aio_pika.connect(url, timeout=10)
    try:
        async with connection.channel() as channel:
            await channel.declare_exchange(
                topology.EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
            )
            await channel.declare_exchange(
                topology.USAGE_DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True
            )
        queues: tuple[tuple[str, dict[str, Any], str, str], ...] = (
            (
                topology.USAGE_DEAD_LETTER_QUEUE,
                {"x-queue-type": "quorum"},
                topology.USAGE_DEAD_LETTER_EXCHANGE,
                "",
            ),
            (
                topology.USAGE_QUEUE,
                topology.quorum_arguments(topology.USAGE_DEAD_LETTER_EXCHANGE),
                topology.EVENTS_EXCHANGE,
                "#",
            ),
        )
        for name, arguments, exchange, routing_key in queues:
            try:
                async with connection.channel() as channel:
                    queue = await channel.declare_queue(name, durable=True, arguments=arguments)
                    await queue.bind(exchange, routing_key=routing_key)
            except ChannelPreconditionFailed as exc:
                log.warning("queue_declared_differently", queue=name, error=str(exc))
                async with connection.channel() as channel:
                    queue = await channel.declare_queue(name, passive=True)
                    await queue.bind(exchange, routing_key=routing_key)
    finally:
        await connection.close()


class BrokerSink:
    """RabbitMQ: one robust connection, one confirming channel; a batch is published
    concurrently and each message counts only once its Basic.Ack arrived."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self._url = url
        self._timeout = timeout
        self._connection: AbstractRobustConnection | None = None
        self._exchange: AbstractExchange | None = None

    def ready(self) -> bool:
        return True

    async def _ensure(self) -> AbstractExchange:
        if self._exchange is not None:
            return self._exchange
        await declare_topology(self._url)
        connection = await aio_pika.connect_robust(self._url, timeout=self._timeout)
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(
                topology.EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
            )
        except BaseException:
            await connection.close()
            raise
        self._connection, self._exchange = connection, exchange
        log.info("event_relay_connected")
        return exchange

    async def _publish(self, exchange: AbstractExchange, envelope: dict[str, Any]) -> bool:
        confirm = await exchange.publish(
            message_for(envelope),
            routing_key=envelope["event_type"],
            # A topic exchange with no matching binding drops the event by design; billing's
            # queue is declared above, so what billing rates is always routed.
            mandatory=False,
            timeout=self._timeout,
        )
        return isinstance(confirm, Basic.Ack)

    async def deliver(self, events: Sequence[dict[str, Any]]) -> list[bool]:
        exchange = await self._ensure()
        outcomes = await asyncio.gather(
            *(self._publish(exchange, envelope) for envelope in events), return_exceptions=True
        )
        results: list[bool] = []
        for envelope, outcome in zip(events, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                log.warning(
                    "event_publish_failed", event_id=envelope["event_id"], error=repr(outcome)
                )
            results.append(outcome is True)
        return results

    async def close(self) -> None:
        connection, self._connection, self._exchange = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()


class OutboxRelay:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        sink: Sink,
        *,
        clock: Clock,
        config: RelayConfig | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._sink = sink
        self._clock = clock
        self._config = config or RelayConfig()
        self._wake = Wakeup()

    def wakeup(self) -> None:
        """Called after a commit that recorded events: deliver now rather than at the poll."""
        self._wake.set()

    # one round

    async def _claim(self, now: datetime) -> list[dict[str, Any]]:
        """Lease up to a batch of due rows to this relay; returns their envelopes in order."""
        cfg = self._config
        due = and_(OutboxEvent.published_at.is_(None), OutboxEvent.next_attempt_at <= now)
        async with self._sessionmaker() as session, session.begin():
            candidates = select(OutboxEvent.id).where(due).order_by(OutboxEvent.id)
            candidates = candidates.limit(cfg.batch_size)
            if session.sync_session.get_bind().dialect.name != "sqlite":
                candidates = candidates.with_for_update(skip_locked=True)
            ids = list((await session.scalars(candidates)).all())
            claimed: list[str] = []
            for event_id in ids:
                # Conditional: exactly one relay wins a row even without row locks (SQLite).
                result = await session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id == event_id, due)
                    .values(next_attempt_at=now + cfg.lease, attempts=OutboxEvent.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
                if getattr(result, "rowcount", 0) == 1:
                    claimed.append(event_id)
            if not claimed:
                return []
            rows = await session.scalars(
                select(OutboxEvent).where(OutboxEvent.id.in_(claimed)).order_by(OutboxEvent.id)
            )
            return [(row.envelope() | {"_attempts": row.attempts}) for row in rows]

    async def _settle(
        self, now: datetime, delivered: list[str], failed: list[tuple[str, int]]
    ) -> None:
        cfg = self._config
        async with self._sessionmaker() as session, session.begin():
            if delivered:
                await session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id.in_(delivered))
                    .values(published_at=now, last_error=None)
                    .execution_options(synchronize_session=False)
                )
            for event_id, attempts in failed:
                delay = min(cfg.poll_interval * 2 ** max(attempts - 1, 0), cfg.max_backoff)
                await session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id == event_id, OutboxEvent.published_at.is_(None))
                    .values(
                        next_attempt_at=now + timedelta(seconds=delay),
                        last_error="not delivered",
                    )
                    .execution_options(synchronize_session=False)
                )

    async def relay_once(self) -> tuple[int, int]:
        """Claim one batch and deliver it; returns (delivered, failed)."""
        if not self._sink.ready():
            return 0, 0
        claimed = await self._claim(self._clock.now())
        if not claimed:
            return 0, 0
        attempts = [envelope.pop("_attempts") for envelope in claimed]
        try:
            results = await self._sink.deliver(claimed)
        except Exception as exc:
            log.warning("event_relay_unavailable", error=repr(exc))
            await self._sink.close()
            results = [False] * len(claimed)
        delivered = [e["event_id"] for e, ok in zip(claimed, results, strict=True) if ok]
        failed = [
            (e["event_id"], n)
            for e, n, ok in zip(claimed, attempts, results, strict=True)
            if not ok
        ]
        await self._settle(self._clock.now(), delivered, failed)
        return len(delivered), len(failed)

    async def drain(self, *, max_rounds: int = 1000) -> int:
        """Deliver until nothing is due (tests, and a clean shutdown); returns how many."""
        total = 0
        for _ in range(max_rounds):
            delivered, failed = await self.relay_once()
            total += delivered
            if delivered == 0 or failed:
                break
        return total

    async def purge(self) -> int:
        """Delete rows published longer ago than the retention, once the stream has numbered
        them; the highest number gone is kept, so a stream resuming below it is told to
        re-list instead of silently missing events."""
        cutoff = self._clock.now() - self._config.retention
        expired = and_(OutboxEvent.published_at < cutoff, OutboxEvent.seq.is_not(None))
        async with self._sessionmaker() as session, session.begin():
            highest = await session.scalar(select(func.max(OutboxEvent.seq)).where(expired))
            if highest is None:
                return 0
            result = await session.execute(
                delete(OutboxEvent).where(expired).execution_options(synchronize_session=False)
            )
            await session.execute(
                update(EventSequence)
                .where(EventSequence.id == SEQUENCE_ROW, EventSequence.purged_seq < highest)
                .values(purged_seq=highest)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    # the loop

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set; back off while deliveries fail, catch up when they work."""
        cfg = self._config
        log.info("event_relay_started", sink=type(self._sink).__name__)
        failures = 0
        loop = asyncio.get_running_loop()
        next_purge = loop.time()
        try:
            while not stop.is_set():
                delivered = failed = 0
                try:
                    delivered, failed = await self.relay_once()
                    if loop.time() >= next_purge:
                        next_purge = loop.time() + cfg.purge_interval
                        if purged := await self.purge():
                            log.info("outbox_purged", rows=purged)
                except Exception:
                    log.exception("event_relay_round_failed")
                    failed = 1
                if failed and not delivered:
                    failures += 1
                    wait = min(cfg.poll_interval * 2 ** min(failures, 10), cfg.max_backoff)
                else:
                    failures = 0
                    if delivered == cfg.batch_size:
                        continue  # a backlog: keep going
                    wait = cfg.poll_interval
                self._wake.clear()
                await self._wake.wait(stop, wait, nudges=failures == 0)
        finally:
            await self._sink.close()
            log.info("event_relay_stopped")


def build_relay(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    clock: Clock,
    broker_url: str | None,
    config: RelayConfig | None = None,
    subscribers: SubscriberRegistry | None = None,
) -> OutboxRelay:
    """The relay for this process: to RabbitMQ when a broker is configured, else in-process."""
    cfg = config or RelayConfig()
    sink: Sink
    if broker_url:
        sink = BrokerSink(broker_url, timeout=cfg.publish_timeout)
    else:
        sink = SubscriberSink(default_registry if subscribers is None else subscribers)
    return OutboxRelay(sessionmaker, sink, clock=clock, config=cfg)

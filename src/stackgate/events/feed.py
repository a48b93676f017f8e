"""The live feed: numbered outbox rows, read from the table and fanned out to the streams of
this process.

One loop per process, running while anyone listens: it reads the rows numbered after the last
one it handed out (`seq > last`, in order; events/sequencer.py makes that gap-free) and puts
each into the bounded queue of every subscription it matches. It learns of new rows from a
PostgreSQL `LISTEN stackgate_events` (one connection per process, only a wake-up: the rows are
always read from the table, so a notification lost while reconnecting loses nothing), from this
process's own sequencer, and from a short poll (the only way on SQLite and MariaDB). A
subscriber that falls too far behind is dropped rather than slowing the others: its stream
ends, and the client resumes from its last id, from the table.

A stream never holds a database connection while it waits: replays and reads are short
sessions, and a waiting stream is an `await` on its queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.outbox import SEQUENCE_ROW, EventSequence, OutboxEvent, iso_z
from stackgate.events.sequencer import CHANNEL
from stackgate.events.wakeup import Wakeup

log = structlog.get_logger("stackgate.events")

# Keys every event's `resource` carries, so a client can render a row without checking.
RESOURCE_KEYS = ("name", "status", "task_state", "fault")


def sse_frame(
    event: str | None = None,
    data: Any = None,
    id: str | None = None,
    *,
    comment: str | None = None,
    retry: int | None = None,
) -> bytes:
    """One Server-Sent Event on the wire (the names and the id are ours: single lines)."""
    lines = [f": {comment}"] if comment is not None else []
    if retry is not None:
        lines.append(f"retry: {retry}")
    if id is not None:
        lines.append(f"id: {id}")
    if event is not None:
        lines.append(f"event: {event}")
    if data is not None:
        lines.append("data: " + json.dumps(data, separators=(",", ":"), default=str))
    return ("\n".join(lines) + "\n\n").encode()


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """A numbered event as streams send it. Its body and its wire form are made once, when
    the feed reads it, not once per stream: with hundreds of streams, encoding per stream was
    most of the CPU an event cost."""

    seq: int
    event_type: str
    project_id: str | None
    resource_id: str
    body: dict[str, Any]
    frame: bytes

    @classmethod
    def of(cls, row: OutboxEvent) -> StreamEvent:
        assert row.seq is not None
        resource = {"type": row.resource_type, "id": row.resource_id}
        resource |= {key: None for key in RESOURCE_KEYS} | dict(row.summary or {})
        body = {
            "seq": row.seq,
            "event_type": row.event_type,
            "occurred_at": iso_z(row.occurred_at),
            "project_id": row.project_id,
            "user_id": row.user_id,
            "resource": resource,
            "payload": dict(row.payload or {}),
        }
        frame = sse_frame(row.event_type, body, str(row.seq))
        return cls(row.seq, row.event_type, row.project_id, row.resource_id, body, frame)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events a stream wants. `project_id` None means every project (admins only:
    the caller's service decides)."""

    project_id: str | None
    types: tuple[str, ...] = ()
    resource_id: str | None = None

    def matches(self, event: StreamEvent) -> bool:
        if self.project_id is not None and event.project_id != self.project_id:
            return False
        if self.resource_id is not None and event.resource_id != self.resource_id:
            return False
        return not self.types or any(
            fnmatch.fnmatchcase(event.event_type, pattern) for pattern in self.types
        )


@dataclass(frozen=True, slots=True)
class Position:
    """The last number stamped, and the highest number purged (the stream's horizon)."""

    last_seq: int
    purged_seq: int


@dataclass(eq=False)
class Subscription:
    filter: EventFilter
    # The feed's position when it subscribed: everything after it arrives in the queue.
    start: int
    queue: asyncio.Queue[StreamEvent] = field(default_factory=asyncio.Queue)
    dropped: bool = False

    async def next(self, within: float | None) -> StreamEvent | None:
        """The next live event, waiting up to `within` seconds (None: no limit); None when
        none came, or when the feed dropped this subscriber as too slow (`dropped`)."""
        if self.dropped:
            return None
        try:
            return self.queue.get_nowait()
        except asyncio.QueueEmpty:
            pass
        try:
            async with asyncio.timeout(within):
                return await self.queue.get()
        except TimeoutError:
            return None


class EventFeed:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        poll_interval: float = 0.5,
        queue_size: int = 1000,
        page_size: int = 500,
    ) -> None:
        self._sessionmaker = sessionmaker
        url = sessionmaker.kw["bind"].url
        # LISTEN needs a connection of its own, outside the pool (asyncpg directly).
        self._listen_dsn = (
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            if url.get_backend_name() == "postgresql"
            else None
        )
        self._poll_interval = poll_interval
        self._queue_size = queue_size
        self._page_size = page_size
        self._subscribers: list[Subscription] = []
        self._last = 0
        self._wake = Wakeup()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._start_lock = asyncio.Lock()

    # reading the table

    async def position(self) -> Position:
        async with self._sessionmaker() as session:
            row = (
                await session.execute(
                    select(EventSequence.last_seq, EventSequence.purged_seq).where(
                        EventSequence.id == SEQUENCE_ROW
                    )
                )
            ).first()
        return Position(0, 0) if row is None else Position(int(row[0]), int(row[1]))

    async def read(
        self, flt: EventFilter, *, after: int, until: int | None = None
    ) -> tuple[list[StreamEvent], int]:
        """One page of numbered events after `after` (up to `until`) that match; and how far
        it read, to continue from (a page may hold no match)."""
        stmt = select(OutboxEvent).where(OutboxEvent.seq > after)
        if until is not None:
            stmt = stmt.where(OutboxEvent.seq <= until)
        if flt.project_id is not None:
            stmt = stmt.where(OutboxEvent.project_id == flt.project_id)
        if flt.resource_id is not None:
            stmt = stmt.where(OutboxEvent.resource_id == flt.resource_id)
        stmt = stmt.order_by(OutboxEvent.seq).limit(self._page_size)
        async with self._sessionmaker() as session:
            rows = [StreamEvent.of(row) for row in (await session.scalars(stmt)).all()]
        if len(rows) == self._page_size:
            reached = rows[-1].seq  # more may follow
        else:
            reached = until if until is not None else rows[-1].seq if rows else after
        return [e for e in rows if flt.matches(e)], reached

    # subscribing

    async def subscribe(self, flt: EventFilter) -> Subscription:
        async with self._start_lock:
            if self._task is None or self._task.done():
                self._last = (await self.position()).last_seq
                self._stop.clear()
                self._task = asyncio.create_task(self._run())
            subscription = Subscription(flt, self._last, asyncio.Queue(self._queue_size))
            self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(subscription)
        if not self._subscribers:
            self._wake.set()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def wakeup(self, _seq: int | None = None) -> None:
        """New rows are numbered (this process's sequencer, or a NOTIFY)."""
        self._wake.set()

    async def close(self) -> None:
        self._stop.set()
        self._wake.set()
        task = self._task
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 5)

    # the loop

    def _dispatch(self, events: Sequence[StreamEvent]) -> None:
        for event in events:
            for subscription in self._subscribers:
                if subscription.dropped or not subscription.filter.matches(event):
                    continue
                try:
                    subscription.queue.put_nowait(event)
                except asyncio.QueueFull:
                    subscription.dropped = True
                    log.info("event_stream_dropped", reason="too slow", seq=event.seq)
            self._last = event.seq

    async def _catch_up(self) -> None:
        everything = EventFilter(project_id=None)
        while True:
            events, reached = await self.read(everything, after=self._last)
            self._dispatch(events)
            self._last = max(self._last, reached)
            if len(events) < self._page_size:
                return

    async def _listen(self) -> asyncpg.Connection | None:
        if self._listen_dsn is None:
            return None
        try:
            connection = await asyncpg.connect(self._listen_dsn, timeout=5)
            await connection.add_listener(CHANNEL, lambda *_: self._wake.set())
        except Exception as exc:
            log.warning("event_listen_failed", error=repr(exc))
            return None
        connection.add_termination_listener(lambda *_: self._wake.set())
        return connection

    async def _run(self) -> None:
        listener: asyncpg.Connection | None = None
        try:
            while True:
                if not self._subscribers or self._stop.is_set():
                    # Decided without an await in between: a subscriber arriving from now on
                    # starts a new loop instead of joining one that is ending.
                    self._task = None
                    return
                if listener is None or listener.is_closed():
                    # (Re)listen first, then read: nothing committed in between is missed.
                    listener = await self._listen()
                self._wake.clear()
                try:
                    await self._catch_up()
                except Exception:
                    log.exception("event_feed_read_failed")
                # LISTEN wakes it at once; the poll is then only a safety net.
                timeout = self._poll_interval * (4 if listener is not None else 1)
                await self._wake.wait(self._stop, timeout)
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close()

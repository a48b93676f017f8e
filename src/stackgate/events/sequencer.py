"""The sequencer: number committed outbox rows for the live stream, gap-free in commit order.

One stamping transaction at a time, everywhere: it starts by writing the one `event_sequence`
row (a no-op update), which on PostgreSQL and MariaDB waits for any other stamper's commit and
on SQLite takes the database's write lock. It then reads the rows no one has numbered, in the
order they were recorded, gives them the next numbers and commits. A reader at `seq > N` can
therefore never see N+2 before N+1: both were stamped by transactions that ran one after the
other, and each stamped only rows already committed. On PostgreSQL the same transaction sends
`NOTIFY stackgate_events`, delivered at its commit, which wakes the streams of every API
process (events/feed.py).

Every process that records events runs one (woken after each commit that recorded some, and
on a slow poll for a process that died between its commit and its stamp).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.outbox import SEQUENCE_ROW, EventSequence, OutboxEvent
from stackgate.events.wakeup import Wakeup

log = structlog.get_logger("stackgate.events")

CHANNEL = "stackgate_events"


class Sequencer:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        batch_size: int = 500,
        poll_interval: float = 5.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._wake = Wakeup()
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[int], None]] = []

    def wakeup(self) -> None:
        """Called after a commit that recorded events."""
        self._wake.set()

    def on_stamped(self, listener: Callable[[int], None]) -> None:
        """Call `listener(last_seq)` after each stamp in this process (the local feed)."""
        self._listeners.append(listener)

    async def stamp(self) -> int:
        """Number every committed, unnumbered row; returns how many were numbered."""
        total = 0
        async with self._lock:
            while True:
                try:
                    count, last = await self._stamp_batch()
                except IntegrityError:
                    # Two processes created the sequence row at once: it exists now.
                    count, last = await self._stamp_batch()
                total += count
                if count < self._batch_size:
                    break
        if total:
            for listener in self._listeners:
                listener(last)
        return total

    async def _stamp_batch(self) -> tuple[int, int]:
        async with self._sessionmaker() as session:
            dialect = session.sync_session.get_bind().dialect.name
            if dialect != "sqlite":
                # Each statement sees what committed before it ran (MariaDB's default,
                # REPEATABLE READ, would keep the snapshot of the first read).
                await session.connection(execution_options={"isolation_level": "READ COMMITTED"})
            last = await self._lock_sequence(session)
            ids = (
                await session.scalars(
                    select(OutboxEvent.id)
                    .where(OutboxEvent.seq.is_(None))
                    .order_by(OutboxEvent.id)
                    .limit(self._batch_size)
                )
            ).all()
            if not ids:
                await session.rollback()
                return 0, last
            stamps = [{"id": event_id, "seq": last + n} for n, event_id in enumerate(ids, 1)]
            await session.execute(update(OutboxEvent), stamps)
            last += len(ids)
            await session.execute(
                update(EventSequence)
                .where(EventSequence.id == SEQUENCE_ROW)
                .values(last_seq=last)
                .execution_options(synchronize_session=False)
            )
            if dialect == "postgresql":
                await session.execute(
                    text("SELECT pg_notify(:channel, :seq)"), {"channel": CHANNEL, "seq": str(last)}
                )
            await session.commit()
            return len(ids), last

    async def _lock_sequence(self, session: AsyncSession) -> int:
        """Take the sequence row's lock (creating the row the first time); its last number."""
        await session.execute(
            update(EventSequence)
            .where(EventSequence.id == SEQUENCE_ROW)
            .values(last_seq=EventSequence.last_seq)
            .execution_options(synchronize_session=False)
        )
        last = await session.scalar(
            select(EventSequence.last_seq).where(EventSequence.id == SEQUENCE_ROW)
        )
        if last is None:
            session.add(EventSequence(id=SEQUENCE_ROW, last_seq=0, purged_seq=0))
            await session.flush()
            return 0
        return int(last)

    async def run(self, stop: asyncio.Event) -> None:
        """Stamp after every nudge, and at the poll interval, until `stop` is set."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.stamp()
            except Exception:
                log.exception("event_sequencer_round_failed")
            await self._wake.wait(stop, self._poll_interval)

"""The live stream's order and resumption on the real database (every dialect): the sequencer
numbers events gap-free in the order readers see them, even while many transactions commit
out of order, and a stream resumed from its last id loses and repeats nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from stackgate.activity.stream.service import RESYNC, EventStreamService, Sent
from stackgate.bootstrap import Container
from stackgate.core.context import RequestContext
from stackgate.core.errors import Forbidden
from stackgate.core.outbox import SEQUENCE_ROW, EventSequence, OutboxEvent
from stackgate.events.feed import EventFeed, EventFilter
from stackgate.events.relay import RelayConfig, build_relay

PROJECT_A = "aaaaaaaa-0000-0000-0000-00000000000a"
PROJECT_B = "bbbbbbbb-0000-0000-0000-00000000000b"
# Of the 1,000 events concurrent_writers records, three writers in four write project A's.
EXPECTED_A = 750


async def write(container: Container, project: str, count: int, *, hold: float = 0.0) -> list[str]:
    """One transaction recording `count` events; `hold` keeps it open before the commit, so
    transactions that began later commit first."""
    async with container.sessionmaker() as session, session.begin():
        rows = [
            OutboxEvent(
                event_type="compute.instance.update",
                project_id=project,
                resource_type="server",
                resource_id=f"server-{random.randrange(10**9)}",
                payload={},
                summary={"status": "BUILD"},
            )
            for _ in range(count)
        ]
        session.add_all(rows)
        await session.flush()
        if hold:
            await asyncio.sleep(hold)
    container.sequencer.wakeup()
    return [row.id for row in rows]


async def concurrent_writers(container: Container, total: int, *, writers: int = 20) -> list[str]:
    """`total` events from `writers` tasks, in small transactions that commit out of order."""
    per_write = 5

    async def writer(n: int) -> list[str]:
        written: list[str] = []
        for _ in range(total // writers // per_write):
            project = PROJECT_A if n % 4 else PROJECT_B
            written += await write(container, project, per_write, hold=random.random() * 0.01)
        return written

    batches = await asyncio.gather(*(writer(n) for n in range(writers)))
    return [event_id for batch in batches for event_id in batch]


@contextlib.asynccontextmanager
async def sequencing(container: Container) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(container.sequencer.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def test_numbers_are_gap_free_in_the_order_readers_see_them(container: Container) -> None:
    everything = EventFilter(project_id=None)
    seen: list[int] = []
    done = asyncio.Event()

    async def reader() -> None:
        # What a stream does: read after the last number it saw, again and again. The classic
        # bug (a number visible before a smaller one commits) shows up as a hole in `seen`.
        last = 0
        while not done.is_set() or last < await _last_seq(container):
            events, _ = await container.feed.read(everything, after=last)
            for event in events:
                seen.append(event.seq)
                last = event.seq
            await asyncio.sleep(0.002)

    async with sequencing(container):
        reading = asyncio.create_task(reader())
        written = await concurrent_writers(container, 1000)
        await container.sequencer.stamp()
        done.set()
        await asyncio.wait_for(reading, 30)

    assert len(written) == 1000
    assert seen == list(range(1, 1001)), "a number was skipped, repeated or seen out of order"
    async with container.sessionmaker() as session:
        numbered = dict((await session.execute(select(OutboxEvent.id, OutboxEvent.seq))).all())
    assert sorted(numbered.values()) == list(range(1, 1001))
    assert set(numbered) == set(written)


async def _last_seq(container: Container) -> int:
    return (await container.feed.position()).last_seq


async def test_a_resumed_stream_loses_and_repeats_nothing(container: Container) -> None:
    service = EventStreamService(container.feed)
    only_a = EventFilter(project_id=PROJECT_A)
    received: list[int] = []

    async def consume(since: int | None, up_to: int) -> int | None:
        """Read up to `up_to` events, then drop the connection; the last id seen."""
        stream = service.stream(only_a, since=since, duration=5)
        last = since
        try:
            async for sent in stream:
                assert sent.event != RESYNC
                assert sent.id is not None
                received.append(int(sent.id))
                last = int(sent.id)
                if len(received) >= up_to:
                    break
        finally:
            await stream.aclose()  # the client goes away mid-stream
        return last

    async with sequencing(container):
        # The first connection starts before anything is written, so from then on every event
        # of project A must arrive exactly once across the reconnections.
        first = asyncio.create_task(consume(None, 40))
        await asyncio.sleep(0.1)
        writing = asyncio.create_task(concurrent_writers(container, 1000))
        last = await first
        while len(received) < EXPECTED_A:
            last = await consume(last, min(EXPECTED_A, len(received) + random.randrange(1, 120)))
        await writing

    async with container.sessionmaker() as session:
        expected = (
            await session.scalars(
                select(OutboxEvent.seq)
                .where(OutboxEvent.project_id == PROJECT_A)
                .order_by(OutboxEvent.seq)
            )
        ).all()
    assert len(expected) == EXPECTED_A
    assert received == expected


async def first_sent(stream: AsyncIterator[Sent]) -> Sent:
    async for sent in stream:
        return sent
    raise AssertionError("the stream ended without sending anything")


async def test_a_position_no_longer_kept_answers_resync(container: Container) -> None:
    await write(container, PROJECT_A, 6)
    await container.sequencer.stamp()
    async with container.sessionmaker() as session, session.begin():
        await session.execute(
            update(EventSequence).where(EventSequence.id == SEQUENCE_ROW).values(purged_seq=3)
        )
    service = EventStreamService(container.feed)
    only_a = EventFilter(project_id=PROJECT_A)

    purged = await first_sent(service.stream(only_a, since=1, duration=1))
    assert purged.event == RESYNC and purged.data == {"seq": 6} and purged.id == "6"
    future = await first_sent(service.stream(only_a, since=99, duration=1))
    assert future.event == RESYNC
    kept = await first_sent(service.stream(only_a, since=3, duration=1))
    assert kept.event == "compute.instance.update" and kept.id == "4"


async def test_purging_moves_the_horizon(container: Container) -> None:
    await write(container, PROJECT_A, 4)
    await container.sequencer.stamp()
    await write(container, PROJECT_A, 1)  # not numbered yet: never purged unseen
    relay = build_relay(
        container.sessionmaker,
        clock=container.clock,
        broker_url=None,
        config=RelayConfig(retention=timedelta(seconds=0)),
    )
    old = container.clock.now() - timedelta(hours=1)
    async with container.sessionmaker() as session, session.begin():
        await session.execute(update(OutboxEvent).values(published_at=old))

    assert await relay.purge() == 4
    position = await container.feed.position()
    assert (position.last_seq, position.purged_seq) == (4, 4)
    async with container.sessionmaker() as session:
        left = (await session.scalars(select(OutboxEvent.seq))).all()
    assert left == [None]


async def test_a_stream_sees_only_what_its_filter_lets_through(container: Container) -> None:
    await write(container, PROJECT_A, 3)
    b_ids = await write(container, PROJECT_B, 2)
    await container.sequencer.stamp()
    feed: EventFeed = container.feed

    mine, _ = await feed.read(EventFilter(project_id=PROJECT_B), after=0)
    assert [e.project_id for e in mine] == [PROJECT_B, PROJECT_B]
    one, _ = await feed.read(EventFilter(project_id=None, resource_id=mine[0].resource_id), after=0)
    assert [e.seq for e in one] == [mine[0].seq]
    assert await _ids(container, [e.seq for e in mine]) == set(b_ids)
    assert not (await feed.read(EventFilter(project_id=PROJECT_A, types=("volume.*",)), after=0))[0]

    service = EventStreamService(feed)
    reader = RequestContext(project_id=PROJECT_A, roles=frozenset({"reader"}))
    assert service.scope(
        reader, project_id=None, all_projects=False, types=(), resource_id=None
    ) == EventFilter(project_id=PROJECT_A)
    for asked in (
        {"project_id": PROJECT_B, "all_projects": False},
        {"project_id": None, "all_projects": True},
    ):
        with pytest.raises(Forbidden):
            service.scope(reader, types=(), resource_id=None, **asked)  # type: ignore[arg-type]
    admin = RequestContext(project_id=PROJECT_A, roles=frozenset({"admin"}))
    assert service.scope(
        admin, project_id=None, all_projects=True, types=(), resource_id=None
    ) == EventFilter(project_id=None)


async def _ids(container: Container, seqs: list[int]) -> set[str]:
    async with container.sessionmaker() as session:
        rows = await session.scalars(select(OutboxEvent.id).where(OutboxEvent.seq.in_(seqs)))
        return set(rows.all())


async def test_a_live_subscriber_gets_each_new_event_once_in_order(container: Container) -> None:
    subscription = await container.feed.subscribe(EventFilter(project_id=PROJECT_A))
    try:
        async with sequencing(container):
            await concurrent_writers(container, 200, writers=4)
            got: list[int] = []
            while len(got) < 150:
                event = await subscription.next(10)
                assert event is not None
                got.append(event.seq)
        assert got == sorted(set(got))
        assert got == await _seqs(container, PROJECT_A)
    finally:
        container.feed.unsubscribe(subscription)


async def _seqs(container: Container, project: str) -> list[int]:
    async with container.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxEvent.seq)
            .where(OutboxEvent.project_id == project)
            .order_by(OutboxEvent.seq)
        )
        return [int(seq) for seq in rows.all()]


async def test_an_idle_stream_pings_and_every_frame_is_well_formed(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("stackgate.activity.stream.service.PING_SECONDS", 0.05)
    service = EventStreamService(container.feed)
    stream = service.stream(EventFilter(project_id=PROJECT_A), since=None, duration=2)
    try:
        assert (await first_sent(stream)).frame == b": ping\n\n"
        await write(container, PROJECT_A, 1)
        await container.sequencer.stamp()
        sent = await first_sent(stream)
        while sent.event is None:  # pings until the event arrives
            sent = await first_sent(stream)
    finally:
        await stream.aclose()
    lines = sent.frame.decode().split("\n")
    assert lines[:2] == [f"id: {sent.id}", "event: compute.instance.update"]
    assert lines[2].startswith("data: {") and lines[3:] == ["", ""]
    assert json.loads(lines[2].removeprefix("data: ")) == sent.data

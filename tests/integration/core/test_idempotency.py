"""Idempotency-Key records live for their TTL (reference/reliability.md 5): within it a repeat is
answered from the record; past it the key is free again, and the reconciler purges the rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from stackgate.bootstrap import Container, bootstrap
from stackgate.compute.models import Server
from stackgate.config import Settings
from stackgate.core.context import DEFAULT_PROJECT_ID, RequestContext
from stackgate.core.idempotency import IdempotencyRecord, StoredResponse
from stackgate.core.uow import UnitOfWork
from stackgate.providers.simulator import SimulatorProvider
from tests.conftest import clean_database, set_quotas
from tests.integration.helpers import StepClock, create_or_replay

TTL = timedelta(hours=24)  # Settings.idempotency_ttl_hours


@pytest.fixture
def clock() -> StepClock:
    return StepClock(datetime.now(UTC))


@pytest.fixture
async def timed(
    settings: Settings, engine: AsyncEngine, provider: SimulatorProvider, clock: StepClock
) -> AsyncIterator[Container]:
    """The composition root with a clock the test moves (else as the `container` fixture)."""
    await clean_database(engine)
    built = bootstrap(settings, engine=engine, provider=provider, clock=clock)
    await built.prepare_identity()
    await set_quotas(built, DEFAULT_PROJECT_ID, instances=-1, cores=-1, ram=-1)
    yield built
    await clean_database(engine)


async def keys(container: Container) -> list[str]:
    async with UnitOfWork(container.sessionmaker) as uow:
        stmt = select(IdempotencyRecord.key).order_by(IdempotencyRecord.key)
        return list((await uow.session.scalars(stmt)).all())


async def server_ids(container: Container) -> set[str]:
    async with UnitOfWork(container.sessionmaker) as uow:
        return set((await uow.session.scalars(select(Server.id))).all())


class TestKeyLifetime:
    async def test_a_repeat_within_the_ttl_replays_the_first_answer(
        self, timed: Container, clock: StepClock, ctx: RequestContext
    ) -> None:
        first = await create_or_replay(timed, ctx, key="k-1")
        assert isinstance(first, Server)
        clock.advance(TTL - timedelta(seconds=1))

        again = await create_or_replay(timed, ctx, key="k-1")

        assert isinstance(again, StoredResponse)
        assert (again.status_code, again.resource_id, again.body["id"]) == (202, first.id, first.id)
        assert await server_ids(timed) == {first.id}

    async def test_a_key_past_its_ttl_creates_a_new_server(
        self, timed: Container, clock: StepClock, ctx: RequestContext
    ) -> None:
        first = await create_or_replay(timed, ctx, key="k-1")
        assert isinstance(first, Server)
        clock.advance(TTL + timedelta(seconds=1))

        second = await create_or_replay(timed, ctx, key="k-1")

        assert isinstance(second, Server)
        assert second.id != first.id
        assert await server_ids(timed) == {first.id, second.id}
        # The expired record made way for the new one; a further repeat replays the new server.
        assert await keys(timed) == ["k-1"]
        third = await create_or_replay(timed, ctx, key="k-1")
        assert isinstance(third, StoredResponse) and third.resource_id == second.id

    async def test_past_its_ttl_a_key_may_carry_another_body(
        self, timed: Container, clock: StepClock, ctx: RequestContext
    ) -> None:
        await create_or_replay(timed, ctx, key="k-1", name="one")
        clock.advance(TTL + timedelta(seconds=1))
        other = await create_or_replay(timed, ctx, key="k-1", name="two")
        assert isinstance(other, Server) and other.name == "two"


class TestPurge:
    async def test_the_reconciler_purges_only_expired_records(
        self, timed: Container, clock: StepClock, ctx: RequestContext
    ) -> None:
        old = await create_or_replay(timed, ctx, key="old")
        clock.advance(timedelta(hours=12))
        young = await create_or_replay(timed, ctx, key="young")
        assert isinstance(old, Server) and isinstance(young, Server)
        clock.advance(timedelta(hours=13))  # old is 25 h old, young 13 h

        assert (await timed.reconciler.run_once())["idempotency_keys"] == 1

        assert await keys(timed) == ["young"]
        replay = await create_or_replay(timed, ctx, key="young")
        assert isinstance(replay, StoredResponse) and replay.resource_id == young.id
        fresh = await create_or_replay(timed, ctx, key="old")
        assert isinstance(fresh, Server) and fresh.id != old.id
        # Purging a key never touches the server it created.
        assert await server_ids(timed) == {old.id, young.id, fresh.id}

    async def test_nothing_expired_nothing_purged(
        self, timed: Container, clock: StepClock, ctx: RequestContext
    ) -> None:
        await create_or_replay(timed, ctx, key="k-1")
        clock.advance(TTL - timedelta(minutes=1))
        assert (await timed.reconciler.run_once())["idempotency_keys"] == 0
        assert await keys(timed) == ["k-1"]

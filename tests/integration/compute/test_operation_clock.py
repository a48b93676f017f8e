"""Server operations come from the injected factory: the configured timeout sets their deadline
and the injected clock stamps them (queued, cancelled, finished), never the wall clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from stackgate.bootstrap import Container, bootstrap
from stackgate.compute.actions.schemas import ActionRequest
from stackgate.config import Settings
from stackgate.core.context import DEFAULT_PROJECT_ID, RequestContext
from stackgate.core.operations import OpResult
from stackgate.providers.simulator import SimulatorProvider
from tests.conftest import clean_database, set_quotas
from tests.integration.helpers import StepClock, create_server, operations_of

TIMEOUT = timedelta(seconds=37)
# Far from the wall clock, so a stamp taken from it cannot pass for the injected one.
START = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def clock() -> StepClock:
    return StepClock(START)


@pytest.fixture
async def timed(
    settings: Settings, engine: AsyncEngine, provider: SimulatorProvider, clock: StepClock
) -> AsyncIterator[Container]:
    """The composition root with a short operation timeout and a clock the test moves."""
    await clean_database(engine)
    configured = settings.model_copy(update={"operation_timeout": TIMEOUT.total_seconds()})
    built = bootstrap(configured, engine=engine, provider=provider, clock=clock)
    await built.prepare_identity()
    await set_quotas(built, DEFAULT_PROJECT_ID, instances=-1, cores=-1, ram=-1)
    yield built
    await clean_database(engine)


def naive(moment: datetime) -> datetime:
    """As the database hands it back (SQLite keeps no zone)."""
    return moment.replace(tzinfo=None)


class TestServerOperations:
    async def test_the_create_has_the_configured_deadline_from_the_injected_clock(
        self, timed: Container, clock: StepClock, ctx: RequestContext
    ) -> None:
        server = await create_server(timed, ctx)
        (op,) = await operations_of(timed, server.id)
        assert op.action == "create"
        assert naive(op.created_at) == naive(START)
        assert naive(op.deadline_at) == naive(START + TIMEOUT)

    async def test_lock_and_delete_stamp_the_injected_clock(
        self, timed: Container, clock: StepClock, ctx: RequestContext
    ) -> None:
        server = await create_server(timed, ctx)
        clock.advance(timedelta(minutes=5))
        await timed.server_actions.act(ctx, server.id, "lock", ActionRequest())
        clock.advance(timedelta(minutes=5))
        await timed.server_actions.act(ctx, server.id, "unlock", ActionRequest())
        await timed.servers.delete(ctx, server.id)

        ops = {op.action: op for op in await operations_of(timed, server.id)}
        create, lock, unlock, delete = (ops[a] for a in ("create", "lock", "unlock", "delete"))
        # The delete cancelled the create that was still queued.
        assert (create.result, naive(create.finished_at or START)) == (
            OpResult.CANCELLED,
            naive(START + timedelta(minutes=10)),
        )
        assert (lock.action, lock.result) == ("lock", OpResult.SUCCESS)
        assert naive(lock.finished_at or START) == naive(START + timedelta(minutes=5))
        assert naive(unlock.finished_at or START) == naive(START + timedelta(minutes=10))
        assert naive(delete.deadline_at) == naive(START + timedelta(minutes=10) + TIMEOUT)

"""Fixtures for the simulator's unit tests: an in-memory cloud and a clock tests move."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sim_builders import FIXED_DURATIONS, FakeClock

from stackgate.providers.simulator import SimulatorProvider


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorProvider]:
    """Speed 0: every operation has ended by the next read."""
    provider = SimulatorProvider(database_url="sqlite+aiosqlite://", speed=0, seed=7)
    await provider.start()
    yield provider
    await provider.close()


@pytest.fixture
async def timed(clock: FakeClock) -> AsyncIterator[SimulatorProvider]:
    """Every operation takes exactly 6 s on a fake clock: tests step through them."""
    provider = SimulatorProvider(
        database_url="sqlite+aiosqlite://", speed=1, seed=7, clock=clock, durations=FIXED_DURATIONS
    )
    await provider.start()
    yield provider
    await provider.close()

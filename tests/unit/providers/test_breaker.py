"""The provider's circuit breaker: opens after consecutive cloud failures, fails fast while
open, lets one trial through after the pause, closes on success and reopens on failure."""

from __future__ import annotations

import pytest

from stackgate.providers.base import ProviderConflict, ProviderUnavailable
from stackgate.providers.breaker import BreakerState, CircuitBreaker, CircuitOpen


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Cloud:
    def __init__(self) -> None:
        self.calls = 0
        self.failing = True

    async def call(self) -> str:
        self.calls += 1
        if self.failing:
            raise ProviderUnavailable("503 from nova", status_code=503)
        return "ok"


async def _fail(breaker: CircuitBreaker, cloud: Cloud, times: int) -> None:
    for _ in range(times):
        with pytest.raises(ProviderUnavailable):
            await breaker.guard(cloud.call)


async def test_opens_after_the_threshold_and_fails_fast() -> None:
    clock, cloud = Clock(), Cloud()
    breaker = CircuitBreaker(failures=3, reset_seconds=30, monotonic=clock)
    await _fail(breaker, cloud, 2)
    assert breaker.state is BreakerState.CLOSED
    await _fail(breaker, cloud, 1)
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(CircuitOpen) as refused:
        await breaker.guard(cloud.call)
    assert cloud.calls == 3  # the fourth never reached the cloud
    assert refused.value.retry_after == pytest.approx(30)
    assert "503 from nova" in refused.value.message


async def test_one_trial_after_the_pause_closes_on_success() -> None:
    clock, cloud = Clock(), Cloud()
    breaker = CircuitBreaker(failures=1, reset_seconds=10, monotonic=clock)
    await _fail(breaker, cloud, 1)
    clock.now += 10
    assert breaker.state is BreakerState.HALF_OPEN
    cloud.failing = False
    assert await breaker.guard(cloud.call) == "ok"
    assert breaker.state is BreakerState.CLOSED
    assert breaker.status().failures == 0


async def test_a_failed_trial_opens_again_for_a_full_pause() -> None:
    clock, cloud = Clock(), Cloud()
    breaker = CircuitBreaker(failures=5, reset_seconds=10, monotonic=clock)
    await _fail(breaker, cloud, 5)
    clock.now += 11
    await _fail(breaker, cloud, 1)
    assert breaker.state is BreakerState.OPEN
    assert breaker.status().open_for == pytest.approx(10)


async def test_only_one_trial_runs_at_a_time() -> None:
    clock, cloud = Clock(), Cloud()
    breaker = CircuitBreaker(failures=1, reset_seconds=1, monotonic=clock)
    await _fail(breaker, cloud, 1)
    clock.now += 2
    breaker.before_call()  # the trial is out
    with pytest.raises(CircuitOpen):
        breaker.before_call()


async def test_refusals_are_answers_not_failures() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=2, reset_seconds=10, monotonic=clock)

    async def conflict() -> None:
        raise ProviderConflict("Cannot 'stop' instance", status_code=409)

    for _ in range(5):
        with pytest.raises(ProviderConflict):
            await breaker.guard(conflict)
    assert breaker.state is BreakerState.CLOSED


async def test_transitions_are_reported_once_each() -> None:
    clock, cloud = Clock(), Cloud()
    breaker = CircuitBreaker(failures=2, reset_seconds=5, monotonic=clock)
    seen: list[BreakerState] = []

    async def record(status: object) -> None:
        seen.append(breaker.state)

    breaker.on_change = record
    await _fail(breaker, cloud, 2)
    with pytest.raises(CircuitOpen):
        await breaker.guard(cloud.call)
    clock.now += 5
    cloud.failing = False
    await breaker.guard(cloud.call)
    await breaker.guard(cloud.call)
    assert seen == [BreakerState.OPEN, BreakerState.CLOSED]

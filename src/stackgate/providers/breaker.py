"""A circuit breaker around the provider: after repeated failures of the cloud, new calls fail
fast instead of piling up behind timeouts, and one trial call after a pause decides whether the
cloud is back (closed) or not (open again).

Only failures of the cloud itself count (ProviderUnavailable: 5xx, unreachable, timeouts);
a refusal (404, 409, 400, quota) is the cloud answering, so it counts as a success.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

from stackgate.providers.base import (
    ComputeProvider,
    ImageProvider,
    Provider,
    ProviderError,
    ProviderUnavailable,
)
from stackgate.providers.network import NetworkProvider
from stackgate.providers.storage import BlockStorageProvider


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(ProviderUnavailable):
    """Refused without calling the cloud: the breaker is open."""

    def __init__(self, retry_after: float, last_error: str) -> None:
        super().__init__(
            f"the cloud is failing ({last_error}); calls are refused for {retry_after:.0f} s",
            status_code=503,
        )
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class BreakerStatus:
    """What the breaker says now; `open_for` is seconds until the next trial call."""

    state: BreakerState
    failures: int
    open_for: float
    last_error: str


class CircuitBreaker:
    """Consecutive-failure breaker (closed -> open -> half-open -> closed or open)."""

    def __init__(
        self,
        *,
        failures: int = 5,
        reset_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = failures
        self.reset_seconds = reset_seconds
        self._now = monotonic
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self.last_error = ""
        # Told of every opening and closing (the API of another process reads it).
        self.on_change: Callable[[BreakerStatus], Awaitable[None]] | None = None

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._now() - self._opened_at >= self.reset_seconds:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def status(self) -> BreakerStatus:
        state = self.state
        open_for = 0.0
        if self._opened_at is not None and state is BreakerState.OPEN:
            open_for = max(0.0, self.reset_seconds - (self._now() - self._opened_at))
        return BreakerStatus(state, self._failures, open_for, self.last_error)

    def before_call(self) -> None:
        """Raise CircuitOpen unless this call may go to the cloud."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and not self._trial_running:
            self._trial_running = True  # one trial at a time; the others keep failing fast
            return
        raise CircuitOpen(max(1.0, self.status().open_for), self.last_error)

    def succeeded(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def failed(self, error: str) -> None:
        self._failures += 1
        self.last_error = error
        if self._trial_running or self._failures >= self.threshold:
            self._opened_at = self._now()
        self._trial_running = False

    async def guard(self, call: Callable[[], Awaitable[Any]]) -> Any:
        self.before_call()
        opened_at = self._opened_at
        try:
            result = await call()
        except CircuitOpen:
            raise
        except ProviderUnavailable as exc:
            self.failed(exc.message)
            await self._notify(opened_at)
            raise
        except ProviderError:
            self.succeeded()
            await self._notify(opened_at)
            raise
        except BaseException:
            # Cancelled or a bug of ours: the trial proved nothing either way.
            self._trial_running = False
            raise
        self.succeeded()
        await self._notify(opened_at)
        return result

    async def _notify(self, opened_at: float | None) -> None:
        if self.on_change is not None and self._opened_at != opened_at:
            await self.on_change(self.status())


class _GuardedProxy:
    """Every coroutine method of a proxy, called through the breaker."""

    def __init__(self, inner: object, breaker: CircuitBreaker) -> None:
        self._inner = inner
        self._breaker = breaker

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        async def guarded(*args: Any, **kwargs: Any) -> Any:
            return await self._breaker.guard(lambda: target(*args, **kwargs))

        return guarded


class GuardedProvider:
    """A provider whose calls pass through one breaker; anything else (test hooks, the
    simulator's extras) is the inner provider's."""

    def __init__(self, inner: Provider, breaker: CircuitBreaker) -> None:
        self.inner = inner
        self.breaker = breaker
        self.name = inner.name
        self.compute = cast(ComputeProvider, _GuardedProxy(inner.compute, breaker))
        self.image = cast(ImageProvider, _GuardedProxy(inner.image, breaker))
        self.block_storage = cast(BlockStorageProvider, _GuardedProxy(inner.block_storage, breaker))
        self.network = cast(NetworkProvider, _GuardedProxy(inner.network, breaker))

    async def check(self) -> None:
        """The readiness probe: an open breaker reports down without calling the cloud;
        otherwise the probe is a call like any other (and may be the half-open trial)."""
        await self.breaker.guard(self.inner.check)

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


if TYPE_CHECKING:
    _conforms: type[Provider] = GuardedProvider

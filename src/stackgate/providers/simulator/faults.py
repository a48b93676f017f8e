"""Seeded fault injection: failing operations, 5xx answers, lost responses."""

from __future__ import annotations

import random

from stackgate.providers.base import ProviderError, ProviderTimeout, ProviderUnavailable


def derived_rng(seed: int | None, stream: str) -> random.Random:
    """An independent stream per concern, so one rate does not shift another's draws."""
    return random.Random(None if seed is None else f"{seed}:{stream}")


class FaultInjector:
    """Decides which calls and operations fail; tests can force the next ones."""

    def __init__(self, *, failure_rate: float, api_error_rate: float, seed: int | None) -> None:
        for label, rate in (("failure_rate", failure_rate), ("api_error_rate", api_error_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{label} must be within [0, 1]")
        self.failure_rate = failure_rate
        self.api_error_rate = api_error_rate
        self._operations = random.Random(seed)
        self._api = derived_rng(seed, "api")
        self._forced_api_errors = 0
        self._forced_failures = 0
        self._lost_responses = 0
        self._failing_calls: dict[str, int] = {}

    def fail_call(self, name: str, count: int = 1) -> None:
        """The next `count` calls of the proxy method `name` fail (500) before changing anything."""
        if count < 1:
            raise ValueError("count must be >= 1")
        self._failing_calls[name] = self._failing_calls.get(name, 0) + count

    def inject_api_errors(self, count: int = 1) -> None:
        """The next `count` API calls answer 503 before changing anything."""
        self._forced_api_errors += count

    def fail_next(self, count: int = 1) -> None:
        """The next `count` operations that start will end in a failure."""
        self._forced_failures += count

    def lose_responses(self, count: int = 1) -> None:
        """The next `count` changing calls take effect, then time out (the answer is lost)."""
        self._lost_responses += count

    @property
    def pending_api_errors(self) -> int:
        """How many forced 503s are still to come."""
        return self._forced_api_errors

    def clear(self) -> None:
        """Drop every forced fault."""
        self._forced_api_errors = self._forced_failures = self._lost_responses = 0
        self._failing_calls.clear()

    def before_call(self, call: str) -> None:
        """Raise a 500 if a test asked this call to fail, or a 503 if it is due to fail."""
        pending = self._failing_calls.get(call, 0)
        if pending > 0:
            if pending == 1:
                del self._failing_calls[call]
            else:
                self._failing_calls[call] = pending - 1
            raise ProviderError(f"injected failure in {call}", status_code=500)
        if self._forced_api_errors > 0:
            self._forced_api_errors -= 1
            failed = True
        else:
            failed = self._api.random() < self.api_error_rate
        if failed:
            raise ProviderUnavailable(
                f"Simulated API failure in {call}: 503 Service Unavailable", status_code=503
            )

    def after_commit(self, call: str) -> None:
        """Raise a timeout after a change was made, if a lost response was requested."""
        if self._lost_responses > 0:
            self._lost_responses -= 1
            raise ProviderTimeout(f"Simulated timeout: the response to {call} was lost")

    def operation_fails(self) -> bool:
        """One draw per operation start: does it end in a failure?"""
        drawn = self._operations.random() < self.failure_rate
        if self._forced_failures > 0:
            self._forced_failures -= 1
            return True
        return drawn

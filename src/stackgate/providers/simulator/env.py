"""What the simulator's proxies share: the store, the clock and the seeded streams."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from stackgate.core.clock import Clock
from stackgate.providers.simulator.faults import FaultInjector
from stackgate.providers.simulator.store import Store
from stackgate.providers.simulator.timing import Timing


@dataclass(slots=True)
class SimEnv:
    store: Store
    faults: FaultInjector
    timing: Timing
    clock: Clock
    ipam_rng: random.Random
    # Port addresses and MACs: a stream of its own, so servers' addresses do not shift.
    net_rng: random.Random

    def draws_for(self, op: str) -> Callable[[], tuple[timedelta, bool]]:
        """An operation's duration and fate, drawn on first use only."""
        # A transaction retried after a deadlock asks again and must get the same answer, and a
        # refused call never asks, so it consumes nothing (`fail_next` stays for the next one).
        drawn: list[tuple[timedelta, bool]] = []

        def get() -> tuple[timedelta, bool]:
            if not drawn:
                drawn.append((self.timing.draw(op), self.faults.operation_fails()))
            return drawn[0]

        return get

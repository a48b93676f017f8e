"""What the simulator's proxies share: the store, the clock and the seeded streams."""

from __future__ import annotations

import random
from dataclasses import dataclass

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

"""How long simulated operations take: configured ranges scaled by one speed factor."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

# Seconds before the speed factor; keys are semantics.nova.Action values and the volume operations.
DEFAULT_DURATIONS: dict[str, tuple[float, float]] = {
    "create": (2.0, 5.0),
    "delete": (0.5, 1.5),
    "start": (0.5, 2.0),
    "stop": (0.5, 2.0),
    "pause": (0.5, 2.0),
    "unpause": (0.5, 2.0),
    "suspend": (0.5, 2.0),
    "resume": (0.5, 2.0),
    "reboot": (1.0, 3.0),
    "resize": (2.0, 5.0),
    "confirm-resize": (1.0, 2.0),
    "revert-resize": (1.0, 2.0),
    "rebuild": (2.0, 4.0),
    "snapshot": (2.0, 5.0),
    "shelve": (2.0, 4.0),
    "unshelve": (2.0, 4.0),
    # Cinder (and Nova's volume attachments)
    "volume-create": (1.0, 3.0),
    "volume-delete": (0.5, 1.5),
    "volume-extend": (1.0, 2.0),
    "volume-attach": (0.5, 1.5),
    "volume-detach": (0.5, 1.5),
    "snapshot-create": (1.0, 3.0),
    "snapshot-delete": (0.5, 1.5),
}


def normalise_op(name: str) -> str:
    """Accept `confirm_resize` as well as `confirm-resize` in configuration."""
    return name.strip().lower().replace("_", "-")


class Timing:
    """Draws operation durations from a seeded stream of its own."""

    def __init__(
        self,
        *,
        speed: float,
        durations: Mapping[str, tuple[float, float] | Sequence[float]] | None,
        rng: random.Random,
    ) -> None:
        if speed < 0:
            raise ValueError("simulator speed must be >= 0")
        self.speed = speed
        self._rng = rng
        self._ranges = dict(DEFAULT_DURATIONS)
        for name, bounds in (durations or {}).items():
            op = normalise_op(name)
            if op not in self._ranges:
                raise ValueError(f"unknown simulator operation {name!r} in durations")
            low, high = (float(v) for v in bounds)
            if low < 0 or high < low:
                raise ValueError(f"bad duration range for {name!r}: {bounds!r}")
            self._ranges[op] = (low, high)

    def draw(self, op: str) -> timedelta:
        """A duration for one run of `op` (zero at speed 0)."""
        low, high = self._ranges[op]
        # Always draw, so the stream (and what follows it) does not depend on the speed.
        seconds = self._rng.uniform(low, high)
        return timedelta(seconds=seconds * self.speed)


def elapsed_fraction(started: datetime, ends: datetime, now: datetime) -> float:
    """How far an operation has come, in [0, 1]."""
    elapsed = (now - started).total_seconds()
    total = (ends - started).total_seconds()
    if elapsed <= 0:
        return 0.0
    if total <= 0:
        return 1.0
    return min(elapsed / total, 1.0)


def step_of(sequence: Sequence[str], fraction: float) -> str:
    """The step of a progress sequence reached at `fraction` of the run."""
    return sequence[min(int(fraction * len(sequence)), len(sequence) - 1)]

"""The wake-up signal the event loops share: wait for a nudge, a stop, or the poll interval."""

from __future__ import annotations

import asyncio
import contextlib


class Wakeup:
    """Set by whoever has news (a commit that recorded events, a NOTIFY); the loop waits on it
    between rounds. Clear it before a round, so a nudge during the round is not lost."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    async def wait(self, stop: asyncio.Event, seconds: float, *, nudges: bool = True) -> None:
        """Return on a nudge (unless `nudges` is off, e.g. while backing off), on stop, or
        after `seconds`."""
        waiters = [asyncio.ensure_future(stop.wait())]
        if nudges:
            waiters.append(asyncio.ensure_future(self._event.wait()))
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED), seconds
                )
        finally:
            for waiter in waiters:
                waiter.cancel()

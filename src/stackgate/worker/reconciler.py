"""Periodic level-triggered repairs (DESIGN.md 1): each feature's repair job (orphaned tasks,
...) and expired idempotency keys.

The repair jobs come from the composition root, so the worker imports no feature.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.clock import Clock
from stackgate.core.uow import UnitOfWork

log = structlog.get_logger("stackgate.reconciler")

# A repair job: given the database and the clock, repairs what it finds; returns how many.
Repair = Callable[[async_sessionmaker[AsyncSession], Clock], Awaitable[int]]


class Reconciler:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Clock,
        interval: float,
        repairs: Mapping[str, Repair],
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._interval = interval
        self._repairs = dict(repairs)

    async def run_once(self) -> dict[str, int]:
        """One pass; returns what it repaired, per job."""
        repaired = {
            name: await repair(self._sessionmaker, self._clock)
            for name, repair in self._repairs.items()
        }
        async with UnitOfWork(self._sessionmaker) as uow:
            purged = await uow.idempotency.purge_expired(now=self._clock.now())
            await uow.commit()
        if any(repaired.values()) or purged:
            log.info("reconciled", **repaired, idempotency_keys=purged)
        return {**repaired, "idempotency_keys": purged}

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("reconcile_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)

"""Periodic level-triggered repairs (DESIGN.md 1): orphaned tasks, expired idempotency keys."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.compute import handlers as compute_handlers
from stackgate.core.clock import Clock
from stackgate.core.uow import UnitOfWork

log = structlog.get_logger("stackgate.reconciler")


class Reconciler:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, clock: Clock, interval: float
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._interval = interval

    async def run_once(self) -> dict[str, int]:
        """One pass; returns what it repaired."""
        repaired = await compute_handlers.repair_orphans(self._sessionmaker, clock=self._clock)
        async with UnitOfWork(self._sessionmaker) as uow:
            purged = await uow.idempotency.purge_expired(now=self._clock.now())
            await uow.commit()
        if repaired or purged:
            log.info("reconciled", servers=repaired, idempotency_keys=purged)
        return {"servers": repaired, "idempotency_keys": purged}

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("reconcile_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)

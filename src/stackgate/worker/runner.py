"""The worker loop: claim ready operations with a lease and drive each one step at a time.

Level-triggered: everything it needs is in the operation table, so a restarted (or a second)
worker simply picks up where the last one stopped once leases expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from datetime import timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.clock import Clock
from stackgate.core.operations import Operation
from stackgate.core.uow import UnitOfWork
from stackgate.worker.registry import HandlerRegistry

log = structlog.get_logger("stackgate.worker")


class Runner:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        registry: HandlerRegistry,
        *,
        clock: Clock,
        concurrency: int = 16,
        poll_interval: float = 0.25,
        lease_seconds: float = 60,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._registry = registry
        self._clock = clock
        self._concurrency = concurrency
        self._poll_interval = poll_interval
        self._lease = timedelta(seconds=lease_seconds)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()

    def wakeup(self) -> None:
        """Called after the API commits work, so the in-process worker starts at once."""
        self._wake.set()

    async def _claim(self, limit: int) -> list[tuple[str, str]]:
        async with UnitOfWork(self._sessionmaker) as uow:
            ids = await uow.operations.claim(
                owner=self.owner, now=self._clock.now(), lease=self._lease, limit=limit
            )
            if not ids:
                return []
            rows = await uow.session.execute(
                select(Operation.id, Operation.resource_type).where(Operation.id.in_(ids))
            )
            claimed = [(row[0], row[1]) for row in rows]
            await uow.commit()
            return claimed

    async def _step(self, op_id: str, resource_type: str) -> None:
        handler = self._registry.for_resource(resource_type)
        if handler is None:
            log.error("no_handler", op_id=op_id, resource_type=resource_type)
            return
        try:
            await handler.handle(op_id, self.owner)
        except Exception:
            # The lease expires and the step is retried; nothing is lost, nothing swallowed.
            log.exception("operation_step_failed", op_id=op_id)

    async def run_once(self) -> int:
        """Claim what is ready now and run those steps to completion; returns how many."""
        claimed = await self._claim(self._concurrency)
        await asyncio.gather(*(self._step(op_id, kind) for op_id, kind in claimed))
        return len(claimed)

    async def drain(self, *, max_rounds: int = 1000) -> None:
        """Run until no operation is ready (tests and the CLI use it at speed 0)."""
        for _ in range(max_rounds):
            if await self.run_once() == 0:
                return

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, keeping up to `concurrency` steps in flight."""
        log.info("worker_started", owner=self.owner, concurrency=self._concurrency)
        while not stop.is_set():
            free = self._concurrency - len(self._inflight)
            claimed: list[tuple[str, str]] = []
            if free > 0:
                try:
                    claimed = await self._claim(free)
                except Exception:
                    log.exception("claim_failed")
            for op_id, kind in claimed:
                task = asyncio.create_task(self._step(op_id, kind))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            if claimed and len(claimed) == free:
                await asyncio.sleep(0)
                if self._inflight:
                    await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
                continue
            if claimed:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=10)
        log.info("worker_stopped", owner=self.owner)

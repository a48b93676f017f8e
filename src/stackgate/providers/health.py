"""The provider's circuit breaker, shared between processes through the database.

The worker's breaker sees the cloud fail; the API (perhaps another process) must then answer
the requests that would queue cloud work with 503 + Retry-After instead of letting them pile
up. The breaker writes its transitions to one row per provider; the guard reads that row
(cached for a second) as well as the breaker of its own process.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import structlog
from sqlalchemy import String, Text, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from stackgate.core.clock import Clock
from stackgate.core.db import Base
from stackgate.core.errors import ServiceUnavailable
from stackgate.providers.breaker import BreakerState, BreakerStatus, CircuitBreaker

log = structlog.get_logger(__name__)
_CACHE_SECONDS = 1.0


class ProviderHealth(Base):
    __tablename__ = "provider_health"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    open_until: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]


class CloudUnavailable(ServiceUnavailable):
    code = "cloud_unavailable"
    title = "The cloud is unavailable"


class CloudGuard:
    """Records the breaker's transitions and refuses cloud work while it is open."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        breaker: CircuitBreaker,
        *,
        provider: str,
        clock: Clock,
    ) -> None:
        self._sessions = sessionmaker
        self.breaker = breaker
        self._provider = provider
        self._clock = clock
        self._cached: tuple[float, datetime | None, str] | None = None

    async def record(self, status: BreakerStatus) -> None:
        """Persist a transition (opened, or closed again); a database error is logged only:
        the breaker still protects this process."""
        now = self._clock.now()
        is_open = status.state is BreakerState.OPEN
        until = now + timedelta(seconds=status.open_for) if is_open else None
        try:
            async with self._sessions() as session, session.begin():
                row = await session.get(ProviderHealth, self._provider, with_for_update=True)
                if row is None:
                    row = ProviderHealth(provider=self._provider, updated_at=now)
                    session.add(row)
                row.open_until = until
                row.last_error = status.last_error[:2000]
                row.updated_at = now
        except SQLAlchemyError as exc:
            log.warning("provider_health_not_recorded", error=str(exc))
            return
        self._cached = (time.monotonic(), until, status.last_error)
        log.warning("provider_breaker", state=status.state.value, error=status.last_error[:300])

    async def _shared(self) -> tuple[datetime | None, str]:
        cached = self._cached
        if cached is not None and time.monotonic() - cached[0] < _CACHE_SECONDS:
            return cached[1], cached[2]
        try:
            async with self._sessions() as session:
                row = await session.scalar(
                    select(ProviderHealth).where(ProviderHealth.provider == self._provider)
                )
        except SQLAlchemyError:
            return None, ""
        until, error = (row.open_until, row.last_error) if row else (None, "")
        self._cached = (time.monotonic(), until, error)
        return until, error

    async def ensure_available(self) -> None:
        """Raise CloudUnavailable (503, Retry-After) while the breaker is open here or in the
        worker."""
        local = self.breaker.status()
        if local.state is BreakerState.OPEN:
            raise self._refusal(local.open_for, local.last_error)
        until, error = await self._shared()
        now = self._clock.now()
        if until is not None and until > now:
            raise self._refusal((until - now).total_seconds(), error)

    def _refusal(self, seconds: float, error: str) -> CloudUnavailable:
        retry = max(1, int(seconds + 0.999))
        return CloudUnavailable(
            f"The cloud is failing ({error[:200] or 'repeated errors'}); requests that need it "
            f"are refused for {retry} s.",
            retry_after=retry,
        )

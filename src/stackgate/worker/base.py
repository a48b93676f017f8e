"""What every operation handler shares: the database it records in, the cloud it drives, the
clock, and how long to wait before the next step."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.clock import Clock
from stackgate.providers.base import Provider

MAX_BACKOFF_SECONDS = 30.0


class ProviderHandler:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        provider: Provider,
        *,
        clock: Clock,
        poll_interval: float = 0.5,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._provider = provider
        self._clock = clock
        self._poll_interval = poll_interval

    def _backoff(self, attempts: int) -> float:
        """One poll interval while the cloud works; after failed attempts, doubling (capped)
        so a cloud in trouble is not hammered."""
        if attempts <= 0:
            return self._poll_interval
        return float(min(self._poll_interval * (2 ** min(attempts, 8)), MAX_BACKOFF_SECONDS))

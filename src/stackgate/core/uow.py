"""The unit of work: one session, one transaction, one use case (cosmicpython, made async)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Self

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from stackgate.core.errors import ConcurrentUpdate
from stackgate.core.idempotency import IdempotencyRepository, IdempotencyScope, StoredResponse
from stackgate.core.operations import OperationRepository


class UnitOfWork:
    """Entering opens a session; leaving without commit() rolls everything back.

    Features subclass it to expose their repositories (`uow.servers`); the core ones
    (operations, idempotency records) are always there.
    """

    session: AsyncSession
    operations: OperationRepository
    idempotency: IdempotencyRepository

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def __aenter__(self) -> Self:
        self.session = self._sessionmaker()
        self.operations = OperationRepository(self.session)
        self.idempotency = IdempotencyRepository(self.session)
        self._attach(self.session)
        return self

    def _attach(self, session: AsyncSession) -> None:
        """Hook for subclasses to build their repositories on the session."""

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back anything uncommitted without expiring the loaded objects, which
        # routes still serialise after the unit of work has ended.
        await self.session.close()

    async def commit(self) -> None:
        """Commit; a lost optimistic-concurrency race becomes ConcurrentUpdate (409)."""
        try:
            await self.session.commit()
        except StaleDataError as exc:
            await self.session.rollback()
            raise ConcurrentUpdate() from exc
        except IntegrityError:
            await self.session.rollback()
            raise

    async def commit_idempotent(
        self,
        scope: IdempotencyScope | None,
        answer: Callable[[], StoredResponse],
        *,
        now: datetime,
        expires_at: datetime,
    ) -> StoredResponse | None:
        """Commit; with an Idempotency-Key, also the answer a retry will replay. Returns None
        when this request's work committed, else what a concurrent request with the same key
        answered: it committed first, and this one's work was rolled back."""
        if scope is None:
            await self.commit()
            return None
        self.idempotency.add(scope, answer(), expires_at=expires_at)
        try:
            await self.commit()
        except IntegrityError:
            stored = await self.idempotency.find(scope, now=now)
            if stored is None:
                raise ConcurrentUpdate(
                    "a concurrent request with this Idempotency-Key failed; retry"
                ) from None
            return stored
        return None

    async def flush(self) -> None:
        try:
            await self.session.flush()
        except StaleDataError as exc:
            raise ConcurrentUpdate() from exc

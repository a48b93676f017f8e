"""Worker side of catalog operations: delete a snapshot image in the cloud."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.clock import Clock
from stackgate.core.operations import OpResult, OpState
from stackgate.core.uow import UnitOfWork
from stackgate.providers.base import Provider, ProviderError, ProviderUnavailable


class ImageOperationHandler:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], provider: Provider, *, clock: Clock
    ) -> None:
        self._sessionmaker = sessionmaker
        self._provider = provider
        self._clock = clock

    async def handle(self, op_id: str, owner: str) -> None:
        """Delete the image in the cloud (a missing one counts as deleted)."""
        async with UnitOfWork(self._sessionmaker) as uow:
            op = await uow.operations.get(op_id)
            if op is None or op.state != OpState.PENDING or op.lease_owner != owner:
                return
            provider_id = str(op.params["provider_id"])
        result, message = OpResult.SUCCESS, None
        retry = False
        try:
            await self._provider.image.delete_image(provider_id)
        except ProviderUnavailable as exc:
            retry, message = True, exc.message
        except ProviderError as exc:
            result, message = OpResult.ERROR, exc.message
        async with UnitOfWork(self._sessionmaker) as uow:
            op = await uow.operations.get(op_id)
            if op is None or op.lease_owner != owner:
                return
            now = self._clock.now()
            if retry and now < op.deadline_at:
                op.next_attempt_at = now + timedelta(seconds=min(2**op.attempts, 60))
                op.lease_owner = op.lease_until = None
                op.message = message
            else:
                op.finish(result if not retry else OpResult.ERROR, message)
            await uow.commit()

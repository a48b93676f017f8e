"""Worker side of catalog operations: delete a snapshot image in the cloud."""

from __future__ import annotations

from datetime import datetime, timedelta

from stackgate.catalog.service import CatalogUoW
from stackgate.core.operations import Operation
from stackgate.providers.base import ProviderError, ProviderUnavailable
from stackgate.worker.handler import Kind, OperationHandler, Outcome

# A cloud that cannot be asked is asked again after 2, 4, 8 ... seconds, at most a minute.
_MAX_RETRY_SECONDS = 60


class ImageOperationHandler(OperationHandler[CatalogUoW, str, None]):
    """Facts: the image's cloud id (the row is gone already). The step records nothing but
    the operation's end, so its outcome carries no detail."""

    def uow(self) -> CatalogUoW:
        return CatalogUoW(self._sessionmaker)

    async def load(self, uow: CatalogUoW, op: Operation) -> str | Outcome[None]:
        return str(op.params["provider_id"])

    def waits_for_others(self, op: Operation) -> bool:
        return False

    def deadline_applies(self, facts: str) -> bool:
        # The delete is asked even past the deadline; only a retry past it gives up.
        return False

    async def drive(self, facts: str) -> Outcome[None]:
        """Delete the image in the cloud (a missing one counts as deleted)."""
        await self._provider.image.delete_image(facts)
        return Outcome(Kind.DONE)

    def on_provider_error(self, exc: ProviderError) -> Outcome[None]:
        if isinstance(exc, ProviderUnavailable):
            return Outcome(Kind.RETRY, message=exc.message)
        return Outcome(Kind.FAILED, message=exc.message)

    async def record(
        self, uow: CatalogUoW, op: Operation, facts: str, outcome: Outcome[None], now: datetime
    ) -> None:
        if outcome.kind == Kind.RETRY and now < op.deadline_at:
            delay = min(2**op.attempts, _MAX_RETRY_SECONDS)
            op.reschedule(now + timedelta(seconds=delay), outcome.message)
        else:
            self.settle(op, outcome if outcome.kind != Kind.RETRY else _gave_up(outcome), now)


def _gave_up(outcome: Outcome[None]) -> Outcome[None]:
    return Outcome(Kind.FAILED, message=outcome.message)

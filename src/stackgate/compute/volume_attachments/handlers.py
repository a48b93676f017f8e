"""Worker side of attach_volume / detach_volume (Nova's os-volume_attachments): the compute
worker, not the volume worker, calls the cloud. The volume row moves reserved -> attaching ->
in-use, or detaching -> available; a failure puts it back where it was."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.block_storage import public as block_storage_service
from stackgate.compute.servers.handlers import (
    OperationFacts,
    ServerOutcome,
    ServerStep,
    VolumeFact,
    attach_in_cloud,
    detail_of,
)
from stackgate.providers.base import Provider, ProviderNotFound
from stackgate.semantics.nova import Action
from stackgate.worker.handler import Kind, Outcome

VOLUME_ACTIONS = frozenset({Action.ATTACH_VOLUME, Action.DETACH_VOLUME})


def _volume(s: OperationFacts) -> VolumeFact | None:
    volume_id = s.params.get("volume_id")
    return next((v for v in s.build.volumes if v.id == volume_id), None)


async def drive(provider: Provider, s: OperationFacts) -> ServerOutcome:
    """One step of an attach or detach (no transaction open)."""
    volume = _volume(s)
    if volume is None:
        return Outcome(Kind.FAILED, message=f"volume {s.params.get('volume_id')} is no longer ours")
    if s.action == Action.ATTACH_VOLUME:
        if volume.status == "in-use":
            return Outcome(Kind.DONE)
        if volume.status == "reserved":
            return Outcome(Kind.PROGRESS, detail=ServerStep(attaching=True), immediate=True)
        if s.provider_id is None or volume.provider_id is None:
            return Outcome(Kind.FAILED, message="the server or the volume is not in the cloud")
        device = await attach_in_cloud(provider, s.provider_id, volume.provider_id)
        return Outcome(Kind.DONE, detail=ServerStep(device=device))
    if volume.status != "detaching":
        return Outcome(Kind.DONE)
    if s.provider_id is None or volume.provider_id is None:
        return Outcome(Kind.DONE)
    try:
        current = await provider.block_storage.get_volume(volume.provider_id)
    except ProviderNotFound:
        return Outcome(Kind.DONE)
    if not any(a.server_id == s.provider_id for a in current.attachments):
        return Outcome(Kind.DONE)
    if current.status != "detaching":
        await provider.compute.delete_volume_attachment(s.provider_id, volume.provider_id)
        current = await provider.block_storage.get_volume(volume.provider_id)
        if not any(a.server_id == s.provider_id for a in current.attachments):
            return Outcome(Kind.DONE)
    return Outcome(Kind.PROGRESS, message="waiting for the cloud to detach the volume")


async def record(
    session: AsyncSession, s: OperationFacts, outcome: ServerOutcome, now: datetime
) -> None:
    """The volume row's side of a step (the operation's is the handler's)."""
    volume = _volume(s)
    if volume is None:
        return
    detail = detail_of(outcome)
    failed = outcome.kind in (Kind.FAILED, Kind.GONE)
    if s.action == Action.ATTACH_VOLUME:
        if detail.attaching:
            await block_storage_service.mark_attaching(session, volume.id, now=now)
        elif outcome.kind == Kind.DONE and detail.device is not None:
            await block_storage_service.mark_attached(
                session, volume.id, s.server_id, detail.device, now
            )
        elif failed:
            await block_storage_service.release_reservation(session, volume.id, now=now)
        return
    if outcome.kind == Kind.DONE:
        await block_storage_service.mark_detached(session, volume.id, now=now)
    elif failed and volume.device is not None:
        # The cloud kept it: in use again where it was.
        await block_storage_service.mark_attached(
            session, volume.id, s.server_id, volume.device, now
        )

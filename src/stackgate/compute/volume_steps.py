"""Worker side of attach_volume / detach_volume (Nova's os-volume_attachments): the compute
worker, not the volume worker, calls the cloud. The volume row moves reserved -> attaching ->
in-use, or detaching -> available; a failure puts it back where it was."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.block_storage import public as block_storage_service
from stackgate.compute.build import attach_in_cloud
from stackgate.compute.states import Action
from stackgate.compute.steps import OperationFacts, Step, VolumeFact
from stackgate.providers.base import Provider, ProviderNotFound

VOLUME_ACTIONS = frozenset({Action.ATTACH_VOLUME, Action.DETACH_VOLUME})


def _volume(s: OperationFacts) -> VolumeFact | None:
    volume_id = s.params.get("volume_id")
    return next((v for v in s.build.volumes if v.id == volume_id), None)


async def drive(provider: Provider, s: OperationFacts) -> Step:
    """One step of an attach or detach (no transaction open)."""
    volume = _volume(s)
    if volume is None:
        return Step("failed", message=f"volume {s.params.get('volume_id')} is no longer ours")
    if s.action == Action.ATTACH_VOLUME:
        if volume.status == "in-use":
            return Step("done")
        if volume.status == "reserved":
            return Step("progress", updates={"attaching": True, "immediate": True})
        if s.provider_id is None or volume.provider_id is None:
            return Step("failed", message="the server or the volume is not in the cloud")
        device = await attach_in_cloud(provider, s.provider_id, volume.provider_id)
        return Step("done", updates={"device": device})
    if volume.status != "detaching":
        return Step("done")
    if s.provider_id is None or volume.provider_id is None:
        return Step("done")
    try:
        current = await provider.block_storage.get_volume(volume.provider_id)
    except ProviderNotFound:
        return Step("done")
    if not any(a.server_id == s.provider_id for a in current.attachments):
        return Step("done")
    if current.status != "detaching":
        await provider.compute.delete_volume_attachment(s.provider_id, volume.provider_id)
        current = await provider.block_storage.get_volume(volume.provider_id)
        if not any(a.server_id == s.provider_id for a in current.attachments):
            return Step("done")
    return Step("progress", message="waiting for the cloud to detach the volume")


async def record(session: AsyncSession, s: OperationFacts, step: Step, now: datetime) -> None:
    """The volume row's side of a step."""
    volume = _volume(s)
    if volume is None:
        return
    if s.action == Action.ATTACH_VOLUME:
        if step.updates.get("attaching"):
            await block_storage_service.mark_attaching(session, volume.id)
        elif step.kind == "done" and "device" in step.updates:
            await block_storage_service.mark_attached(
                session, volume.id, s.server_id, step.updates["device"], now
            )
        elif step.kind in ("failed", "gone"):
            await block_storage_service.release_reservation(session, volume.id)
        return
    if step.kind == "done":
        await block_storage_service.mark_detached(session, volume.id)
    elif step.kind in ("failed", "gone") and volume.device is not None:
        # The cloud kept it: in use again where it was.
        await block_storage_service.mark_attached(
            session, volume.id, s.server_id, volume.device, now
        )

"""What other features may use of block storage (compute, for boot volumes and attachments),
and the only module of it they import. Each function works inside the caller's unit of work.

Time and operations come from the caller (its injected clock and `OperationFactory`), so the
rows it changes carry the caller's instant and the operations it queues the configured deadline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.block_storage.errors import (
    InvalidVolumeRef,
    VolumeAttached,
    VolumeNotFound,
    check_volume,
    next_device,
)
from stackgate.block_storage.models import Volume
from stackgate.block_storage.repository import VolumeRepository
from stackgate.block_storage.volumes.service import (
    check_fits,
    enforce_quota,
    provider_image_ref,
    queue_delete,
    volume_usage,
)
from stackgate.catalog import public as catalog
from stackgate.core.context import RequestContext
from stackgate.core.ids import new_id
from stackgate.core.operations import OperationFactory
from stackgate.core.uow import UnitOfWork
from stackgate.semantics import cinder
from stackgate.semantics.cinder import ROOT_DEVICE, VolumeOp, VolumeStatus

__all__ = [
    "Volume",
    "create_boot_volume",
    "delete_volume_later",
    "mark_attached",
    "mark_attaching",
    "mark_detached",
    "mark_detaching",
    "next_device",
    "release_reservation",
    "reserve_volumes",
    "volume_usage",
    "volumes_of_servers",
]


async def create_boot_volume(
    uow: UnitOfWork,
    ctx: RequestContext,
    *,
    image_id: str,
    image_min_disk_gb: int,
    size_gb: int,
    server_id: str,
    delete_on_termination: bool,
    operations: OperationFactory,
) -> Volume:
    """A bootable root volume for a server being built (creating, /dev/vda) plus its create
    operation; volumes and gigabytes quota enforced; smaller than min_disk -> 422."""
    check_fits(size_gb, image_min_disk_gb, "boot_volume.size")
    image = await catalog.get_image_row(uow, image_id)
    await enforce_quota(uow, ctx.project_id, {"volumes": 1, "gigabytes": size_gb})
    now = operations.clock.now()
    volume = Volume(
        id=new_id(),
        project_id=ctx.project_id,
        user_id=ctx.user_id,
        name="",
        description=None,
        size_gb=size_gb,
        volume_type=cinder.DEFAULT_VOLUME_TYPE,
        status=VolumeStatus.CREATING,
        image_id=image_id,
        bootable=True,
        server_id=server_id,
        device=ROOT_DEVICE,
        is_root=True,
        delete_on_termination=delete_on_termination,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(volume)
    uow.operations.add(
        operations.due_now(
            project_id=volume.project_id,
            user_id=ctx.user_id,
            request_id=ctx.request_id,
            resource_type="volume",
            resource_id=volume.id,
            action="create",
            params={"image_ref": provider_image_ref(image) if image else image_id},
            now=now,
        )
    )
    await uow.flush()
    return volume


async def reserve_volumes(
    uow: UnitOfWork,
    ctx: RequestContext,
    volume_ids: Sequence[str],
    server_id: str,
    *,
    now: datetime,
) -> list[Volume]:
    """Cinder's attachment_create: each data volume of the caller's project, available and
    not someone's boot volume, becomes reserved for the server (409 otherwise)."""
    repo = VolumeRepository(uow.session)
    reserved: list[Volume] = []
    for ref in dict.fromkeys(volume_ids):
        volume = await repo.get(ctx.project_id, ref)
        if volume is None:
            raise InvalidVolumeRef("volumes", ref, await repo.ids(ctx.project_id))
        check_volume(VolumeOp.RESERVE, volume.status, volume_id=volume.id)
        if volume.server_id is not None:
            raise VolumeAttached(volume.id, volume.server_id)
        volume.status = VolumeStatus.RESERVED
        volume.server_id = server_id
        volume.device = None
        volume.is_root = False
        volume.updated_at = now
        reserved.append(volume)
    await uow.flush()
    return reserved


async def volumes_of_servers(
    session: AsyncSession, server_ids: Sequence[str]
) -> dict[str, list[Volume]]:
    """Volumes reserved by or attached to each server (for server bodies), by device."""
    return await VolumeRepository(session).of_servers(server_ids)


async def _row(session: AsyncSession, volume_id: str) -> Volume:
    volume = await VolumeRepository(session).get_unscoped(volume_id)
    if volume is None:
        raise VolumeNotFound(volume_id)
    return volume


async def mark_attaching(session: AsyncSession, volume_id: str, *, now: datetime) -> Volume:
    """reserved -> attaching (the compute worker is about to attach it in the cloud)."""
    volume = await _row(session, volume_id)
    if volume.status != VolumeStatus.AVAILABLE or volume.server_id is None:
        check_volume(VolumeOp.ATTACHING, volume.status, volume_id=volume.id)
    volume.status = VolumeStatus.ATTACHING
    volume.updated_at = now
    return volume


async def mark_attached(
    session: AsyncSession, volume_id: str, server_id: str, device: str, now: datetime
) -> Volume:
    """-> in-use on `server_id` as `device` (repeatable)."""
    volume = await _row(session, volume_id)
    if volume.status != VolumeStatus.AVAILABLE or volume.server_id != server_id:
        check_volume(VolumeOp.ATTACHED, volume.status, volume_id=volume.id)
    volume.status = VolumeStatus.IN_USE
    volume.server_id = server_id
    volume.device = device
    volume.attached_at = volume.attached_at or now
    volume.updated_at = now
    return volume


async def mark_detaching(session: AsyncSession, volume_id: str, *, now: datetime) -> Volume:
    """in-use -> detaching (409 otherwise; repeatable)."""
    volume = await _row(session, volume_id)
    if volume.status != VolumeStatus.DETACHING:
        check_volume(VolumeOp.DETACH, volume.status, volume_id=volume.id)
    volume.status = VolumeStatus.DETACHING
    volume.updated_at = now
    return volume


def _clear_attachment(volume: Volume) -> None:
    volume.server_id = None
    volume.device = None
    volume.attached_at = None
    volume.is_root = False
    volume.delete_on_termination = False


async def mark_detached(session: AsyncSession, volume_id: str, *, now: datetime) -> Volume:
    """Back to available with no server (a volume in error or deleting keeps its status)."""
    volume = await _row(session, volume_id)
    if volume.status in cinder.ATTACHED or volume.status == VolumeStatus.AVAILABLE:
        volume.status = VolumeStatus.AVAILABLE
    _clear_attachment(volume)
    volume.updated_at = now
    return volume


async def release_reservation(session: AsyncSession, volume_id: str, *, now: datetime) -> Volume:
    """reserved (or attaching) -> available: the attachment never happened."""
    volume = await _row(session, volume_id)
    if volume.status in (VolumeStatus.IN_USE, VolumeStatus.DETACHING):
        check_volume(VolumeOp.RELEASE, volume.status, volume_id=volume.id)
    if cinder.may(VolumeOp.RELEASE, volume.status):
        volume.status = VolumeStatus.AVAILABLE
    _clear_attachment(volume)  # a volume in error or deleting keeps its status
    volume.updated_at = now
    return volume


async def delete_volume_later(
    uow: UnitOfWork, volume_id: str, *, operations: OperationFactory
) -> Volume:
    """Status deleting plus a delete operation, whatever the status (the server that held the
    volume is going away); other open operations of the volume are cancelled."""
    volume = await _row(uow.session, volume_id)
    if volume.status == VolumeStatus.DELETING:
        return volume
    for op in await uow.operations.open_for_resource(volume.id):
        op.cancel("superseded by delete", now=operations.clock.now())
    queue_delete(uow, volume, operations, user_id=None, request_id=None)
    _clear_attachment(volume)
    await uow.flush()
    return volume

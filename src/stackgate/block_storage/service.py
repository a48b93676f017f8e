"""Volume use cases (one unit of work each) and the functions the compute feature calls to
tie volumes to servers (boot volumes, attachments)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.block_storage import states
from stackgate.block_storage.errors import (
    InvalidVolumeRef,
    UnknownImage,
    VolumeAttached,
    VolumeNotFound,
    VolumeTooSmall,
)
from stackgate.block_storage.models import Volume
from stackgate.block_storage.repository import SnapshotRepository, VolumeRepository
from stackgate.block_storage.states import ROOT_DEVICE, VolumeOp, VolumeStatus
from stackgate.catalog import service as catalog_service
from stackgate.catalog.models import Image
from stackgate.core.clock import utcnow
from stackgate.core.context import RequestContext
from stackgate.core.errors import InvalidInput
from stackgate.core.ids import new_id
from stackgate.core.operations import Operation
from stackgate.core.uow import UnitOfWork
from stackgate.identity import quotas

DEFAULT_OPERATION_TIMEOUT = 600.0


class BlockStorageUoW(UnitOfWork):
    volumes: VolumeRepository
    snapshots: SnapshotRepository

    def _attach(self, session: AsyncSession) -> None:
        self.volumes = VolumeRepository(session)
        self.snapshots = SnapshotRepository(session)


@dataclass(frozen=True, slots=True)
class BlockStorageConfig:
    operation_timeout: float = DEFAULT_OPERATION_TIMEOUT
    idempotency_ttl: timedelta = timedelta(hours=24)


def new_operation(
    *,
    project_id: str,
    user_id: str | None,
    request_id: str | None,
    resource_type: str,
    resource_id: str,
    action: str,
    params: dict[str, Any] | None = None,
    now: datetime | None = None,
    timeout: float = DEFAULT_OPERATION_TIMEOUT,
) -> Operation:
    """A worker operation for a volume ("volume") or a snapshot ("volume_snapshot")."""
    return Operation.due_now(
        project_id=project_id,
        user_id=user_id,
        request_id=request_id,
        resource_type=resource_type,
        resource_id=resource_id,
        action=action,
        params=params,
        now=now or utcnow(),
        timeout=timedelta(seconds=timeout),
    )


async def volume_usage(uow: UnitOfWork, project_id: str) -> dict[str, int]:
    """volumes, gigabytes (volumes + snapshots, as Cinder counts) and snapshots in use."""
    return await VolumeRepository(uow.session).usage(project_id)


def provider_image_ref(image: Image) -> str:
    """What the cloud knows the image as: a snapshot's Glance id, else the catalog id."""
    return image.provider_id or image.id


async def image_for_volume(uow: UnitOfWork, ctx: RequestContext, ref: str) -> Image:
    try:
        return await catalog_service.resolve_image(uow, ctx, ref)
    except InvalidInput as exc:
        raise UnknownImage(ref, exc.detail.removeprefix("image: ")) from exc


def check_fits(size_gb: int, min_disk_gb: int, field: str = "size") -> None:
    if size_gb < min_disk_gb:
        raise VolumeTooSmall(size_gb, min_disk_gb, field)


async def enforce_quota(uow: UnitOfWork, project_id: str, deltas: dict[str, int]) -> None:
    await quotas.enforce(uow, project_id, deltas, volume_usage)


# --- functions the compute feature calls (issue-4 design, exact signatures) ---------------


async def create_boot_volume(
    uow: UnitOfWork,
    ctx: RequestContext,
    *,
    image_id: str,
    image_min_disk_gb: int,
    size_gb: int,
    server_id: str,
    delete_on_termination: bool,
) -> Volume:
    """A bootable root volume for a server being built (creating, /dev/vda) plus its create
    operation; volumes and gigabytes quota enforced; smaller than min_disk -> 422."""
    check_fits(size_gb, image_min_disk_gb, "boot_volume.size")
    image = await catalog_service.get_image_row(uow, image_id)
    await enforce_quota(uow, ctx.project_id, {"volumes": 1, "gigabytes": size_gb})
    now = utcnow()
    volume = Volume(
        id=new_id(),
        project_id=ctx.project_id,
        user_id=ctx.user_id,
        name="",
        description=None,
        size_gb=size_gb,
        volume_type=states.DEFAULT_VOLUME_TYPE,
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
        new_operation(
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
    uow: UnitOfWork, ctx: RequestContext, volume_ids: Sequence[str], server_id: str
) -> list[Volume]:
    """Cinder's attachment_create: each data volume of the caller's project, available and
    not someone's boot volume, becomes reserved for the server (409 otherwise)."""
    repo = VolumeRepository(uow.session)
    reserved: list[Volume] = []
    for ref in dict.fromkeys(volume_ids):
        volume = await repo.get(ctx.project_id, ref)
        if volume is None:
            raise InvalidVolumeRef("volumes", ref)
        states.check_volume(VolumeOp.RESERVE, volume.status, volume_id=volume.id)
        if volume.server_id is not None:
            raise VolumeAttached(volume.id, volume.server_id)
        volume.status = VolumeStatus.RESERVED
        volume.server_id = server_id
        volume.device = None
        volume.is_root = False
        volume.updated_at = utcnow()
        reserved.append(volume)
    await uow.flush()
    return reserved


async def volumes_of_servers(
    session: AsyncSession, server_ids: Sequence[str]
) -> dict[str, list[Volume]]:
    """Volumes reserved by or attached to each server (for server bodies), by device."""
    return await VolumeRepository(session).of_servers(server_ids)


def next_device(used: Sequence[str]) -> str:
    """/dev/vdb, /dev/vdc, ... (vda is the root disk)."""
    return states.next_device(used)


async def _row(session: AsyncSession, volume_id: str) -> Volume:
    volume = await VolumeRepository(session).get_unscoped(volume_id)
    if volume is None:
        raise VolumeNotFound(volume_id)
    return volume


async def mark_attaching(session: AsyncSession, volume_id: str) -> Volume:
    """reserved -> attaching (the compute worker is about to attach it in the cloud)."""
    volume = await _row(session, volume_id)
    if volume.status != VolumeStatus.AVAILABLE or volume.server_id is None:
        states.check_volume(VolumeOp.ATTACHING, volume.status, volume_id=volume.id)
    volume.status = VolumeStatus.ATTACHING
    volume.updated_at = utcnow()
    return volume


async def mark_attached(
    session: AsyncSession, volume_id: str, server_id: str, device: str, now: datetime
) -> Volume:
    """-> in-use on `server_id` as `device` (repeatable)."""
    volume = await _row(session, volume_id)
    if volume.status != VolumeStatus.AVAILABLE or volume.server_id != server_id:
        states.check_volume(VolumeOp.ATTACHED, volume.status, volume_id=volume.id)
    volume.status = VolumeStatus.IN_USE
    volume.server_id = server_id
    volume.device = device
    volume.attached_at = volume.attached_at or now
    volume.updated_at = now
    return volume


async def mark_detaching(session: AsyncSession, volume_id: str) -> Volume:
    """in-use -> detaching (409 otherwise; repeatable)."""
    volume = await _row(session, volume_id)
    if volume.status != VolumeStatus.DETACHING:
        states.check_volume(VolumeOp.DETACH, volume.status, volume_id=volume.id)
    volume.status = VolumeStatus.DETACHING
    volume.updated_at = utcnow()
    return volume


def _clear_attachment(volume: Volume) -> None:
    volume.server_id = None
    volume.device = None
    volume.attached_at = None
    volume.is_root = False
    volume.delete_on_termination = False


async def mark_detached(session: AsyncSession, volume_id: str) -> Volume:
    """Back to available with no server (a volume in error or deleting keeps its status)."""
    volume = await _row(session, volume_id)
    if volume.status in states.ATTACHED or volume.status == VolumeStatus.AVAILABLE:
        volume.status = VolumeStatus.AVAILABLE
    _clear_attachment(volume)
    volume.updated_at = utcnow()
    return volume


async def release_reservation(session: AsyncSession, volume_id: str) -> Volume:
    """reserved (or attaching) -> available: the attachment never happened."""
    volume = await _row(session, volume_id)
    if volume.status in (VolumeStatus.IN_USE, VolumeStatus.DETACHING):
        states.check_volume(VolumeOp.RELEASE, volume.status, volume_id=volume.id)
    if states.may(VolumeOp.RELEASE, volume.status):
        volume.status = VolumeStatus.AVAILABLE
    _clear_attachment(volume)  # a volume in error or deleting keeps its status
    volume.updated_at = utcnow()
    return volume


async def delete_volume_later(uow: UnitOfWork, volume_id: str) -> Volume:
    """Status deleting plus a delete operation, whatever the status (the server that held the
    volume is going away); other open operations of the volume are cancelled."""
    volume = await _row(uow.session, volume_id)
    if volume.status == VolumeStatus.DELETING:
        return volume
    for op in await uow.operations.open_for_resource(volume.id):
        op.cancel("superseded by delete")
    queue_delete(uow, volume, user_id=None, request_id=None)
    _clear_attachment(volume)
    await uow.flush()
    return volume


def queue_delete(
    uow: UnitOfWork,
    volume: Volume,
    *,
    user_id: str | None,
    request_id: str | None,
    timeout: float = DEFAULT_OPERATION_TIMEOUT,
) -> None:
    now = utcnow()
    volume.status = VolumeStatus.DELETING
    volume.updated_at = now
    uow.operations.add(
        new_operation(
            project_id=volume.project_id,
            user_id=user_id,
            request_id=request_id,
            resource_type="volume",
            resource_id=volume.id,
            action="delete",
            now=now,
            timeout=timeout,
        )
    )

"""Cinder's volumes and snapshots in the store: wording, DTOs and lazily settled operations.

Statuses and rules follow cinder/volume/api.py (reference/openstack.md 3.2); a refusal is a
400 InvalidVolume/InvalidSnapshot/InvalidInput, worded as Cinder words it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.providers.base import ProviderBadRequest, ProviderNotFound
from stackgate.providers.simulator.tables import SimSnapshot, SimVolume
from stackgate.providers.storage import ProviderAttachment, ProviderSnapshot, ProviderVolume

# Operation names (also the keys of their durations in timing.DEFAULT_DURATIONS).
CREATE = "volume-create"
DELETE = "volume-delete"
EXTEND = "volume-extend"
ATTACH = "volume-attach"
DETACH = "volume-detach"
SNAPSHOT_CREATE = "snapshot-create"
SNAPSHOT_DELETE = "snapshot-delete"

DEFAULT_TYPE = "__DEFAULT__"
ROOT_DEVICE = "/dev/vda"
AVAILABLE = "available"
IN_USE = "in-use"
ERROR = "error"
DELETING = "deleting"
# cinder/volume/api.py delete(): the statuses a volume may be deleted from.
DELETABLE = ("available", "error", "error_restoring", "error_extending", "error_managing")
_SHOWN_ATTACHED = (IN_USE, "detaching")


def volume_not_found(volume_id: str) -> ProviderNotFound:
    return ProviderNotFound(f"Volume {volume_id} could not be found.", status_code=404)


def snapshot_not_found(snapshot_id: str) -> ProviderNotFound:
    return ProviderNotFound(f"Snapshot {snapshot_id} could not be found.", status_code=404)


def invalid_volume(reason: str) -> ProviderBadRequest:
    return ProviderBadRequest(f"Invalid volume: {reason}", status_code=400)


def invalid_input(reason: str) -> ProviderBadRequest:
    return ProviderBadRequest(f"Invalid input received: {reason}", status_code=400)


def volume_dto(volume: SimVolume) -> ProviderVolume:
    attachments: tuple[ProviderAttachment, ...] = ()
    if volume.server_id is not None and volume.status in _SHOWN_ATTACHED:
        attachments = (ProviderAttachment(server_id=volume.server_id, device=volume.device or ""),)
    return ProviderVolume(
        id=volume.id,
        name=volume.name,
        status=volume.status,
        size_gb=volume.size_gb,
        bootable=volume.bootable,
        volume_type=volume.volume_type,
        image_id=volume.image_id,
        attachments=attachments,
        metadata=dict(volume.meta),
    )


def snapshot_dto(snapshot: SimSnapshot) -> ProviderSnapshot:
    return ProviderSnapshot(
        id=snapshot.id,
        volume_id=snapshot.volume_id,
        name=snapshot.name,
        status=snapshot.status,
        size_gb=snapshot.size_gb,
        metadata=dict(snapshot.meta),
    )


def has_metadata(row_meta: dict[str, Any], wanted: dict[str, str] | None) -> bool:
    return all(row_meta.get(k) == v for k, v in (wanted or {}).items())


def is_due(row: SimVolume | SimSnapshot, now: datetime) -> bool:
    return row.action is not None and row.ends_at is not None and row.ends_at <= now


def begin(
    volume: SimVolume,
    action: str,
    status: str,
    *,
    now: datetime,
    duration: timedelta,
    fails: bool = False,
    params: dict[str, Any] | None = None,
) -> None:
    """Record the pending operation and the status shown while it runs."""
    volume.status = status
    volume.action = action
    volume.ends_at = now + duration
    volume.will_fail = fails
    volume.params = dict(params or {})


async def settle_volume(session: AsyncSession, volume: SimVolume, now: datetime) -> bool:
    """Apply the volume's pending operation if its time has come; False once it is gone."""
    if not is_due(volume, now):
        return True
    action, fails = volume.action, volume.will_fail
    volume.action = volume.ends_at = None
    volume.will_fail = False
    params, volume.params = volume.params, {}
    if action == CREATE:
        volume.status = ERROR if fails else AVAILABLE
    elif action == DELETE:
        if fails:
            volume.status = "error_deleting"
        else:
            await session.delete(volume)
            await session.flush()
            return False
    elif action == EXTEND:
        if fails:
            volume.status = "error_extending"
        else:
            volume.size_gb = int(params.get("size_gb", volume.size_gb))
            volume.status = AVAILABLE
    elif action == ATTACH:
        if fails:  # Nova rolls the attachment back (attachment_delete): available again
            volume.status, volume.server_id, volume.device = AVAILABLE, None, None
        else:
            volume.status = IN_USE
    elif action == DETACH:
        volume.status, volume.server_id, volume.device = AVAILABLE, None, None
    return True


async def settle_snapshot(session: AsyncSession, snapshot: SimSnapshot, now: datetime) -> bool:
    """Apply the snapshot's pending operation if due; False once it is gone."""
    if not is_due(snapshot, now):
        return True
    action, fails = snapshot.action, snapshot.will_fail
    snapshot.action = snapshot.ends_at = None
    snapshot.will_fail = False
    if action == SNAPSHOT_CREATE:
        snapshot.status = ERROR if fails else AVAILABLE
    elif action == SNAPSHOT_DELETE:
        if fails:
            snapshot.status = "error_deleting"
        else:
            await session.delete(snapshot)
            await session.flush()
            return False
    return True


async def settle_due_volumes(session: AsyncSession, now: datetime) -> None:
    """Apply every due volume, then snapshot, operation (rows locked in id order)."""
    stmt = (
        select(SimVolume)
        .where(SimVolume.action.is_not(None), SimVolume.ends_at <= now)
        .order_by(SimVolume.id)
        .with_for_update()
    )
    for volume in (await session.scalars(stmt)).all():
        await settle_volume(session, volume, now)
    snaps = (
        select(SimSnapshot)
        .where(SimSnapshot.action.is_not(None), SimSnapshot.ends_at <= now)
        .order_by(SimSnapshot.id)
        .with_for_update()
    )
    for snapshot in (await session.scalars(snaps)).all():
        await settle_snapshot(session, snapshot, now)


async def find_volume(session: AsyncSession, volume_id: str, now: datetime) -> SimVolume | None:
    """The volume locked for this transaction with its due operation applied, or None."""
    volume = await session.get(SimVolume, volume_id, with_for_update=True, populate_existing=True)
    if volume is None or not await settle_volume(session, volume, now):
        return None
    return volume


async def locked_volume(session: AsyncSession, volume_id: str, now: datetime) -> SimVolume:
    volume = await find_volume(session, volume_id, now)
    if volume is None:
        raise volume_not_found(volume_id)
    return volume


async def find_snapshot(
    session: AsyncSession, snapshot_id: str, now: datetime
) -> SimSnapshot | None:
    snapshot = await session.get(
        SimSnapshot, snapshot_id, with_for_update=True, populate_existing=True
    )
    if snapshot is None or not await settle_snapshot(session, snapshot, now):
        return None
    return snapshot


async def attached_devices(session: AsyncSession, server_id: str) -> list[str]:
    stmt = select(SimVolume.device).where(
        SimVolume.server_id == server_id, SimVolume.device.is_not(None)
    )
    return [d for d in (await session.scalars(stmt)).all() if d]


def next_device(used: list[str]) -> str:
    """/dev/vdb, /dev/vdc, ... (vda is the root disk, from the image or a boot volume)."""
    taken = set(used) | {ROOT_DEVICE}
    for letter in "bcdefghijklmnopqrstuvwxyz":
        device = f"/dev/vd{letter}"
        if device not in taken:
            return device
    raise ProviderBadRequest("No free device name is left on the instance.", status_code=400)

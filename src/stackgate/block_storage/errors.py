"""Block-storage errors (pure: no framework imports), and the guards that raise them where
Cinder's rules (semantics.cinder) refuse a request."""

from __future__ import annotations

from collections.abc import Iterable

from stackgate.core.errors import (
    Category,
    Conflict,
    NotFound,
    StackGateError,
    UnknownReference,
)
from stackgate.semantics import cinder
from stackgate.semantics.cinder import VolumeOp


class VolumeNotFound(NotFound):
    def __init__(self, volume_id: str) -> None:
        super().__init__("volume", volume_id)


class SnapshotNotFound(NotFound):
    def __init__(self, snapshot_id: str) -> None:
        super().__init__("volume snapshot", snapshot_id)


class InvalidVolumeState(Conflict):
    """Cinder's InvalidVolume (400 there): our API says 409, naming the status and what the
    operation needs."""

    code = "invalid_volume_state"
    title = "Invalid volume state"

    def __init__(self, *, operation: str, volume_id: str, status: str, allowed: Iterable[str]):
        needed = sorted(allowed)
        super().__init__(
            f"cannot {operation} volume {volume_id} in status {status}; "
            f"{operation} needs status {' or '.join(needed) if needed else '(none)'}",
            operation=operation,
            current_status=status,
            allowed_statuses=needed,
        )


class InvalidSnapshotState(Conflict):
    code = "invalid_snapshot_state"
    title = "Invalid snapshot state"

    def __init__(self, *, operation: str, snapshot_id: str, status: str, allowed: Iterable[str]):
        needed = sorted(allowed)
        super().__init__(
            f"cannot {operation} snapshot {snapshot_id} in status {status}; "
            f"{operation} needs status {' or '.join(needed) if needed else '(none)'}",
            operation=operation,
            current_status=status,
            allowed_statuses=needed,
        )


class VolumeHasSnapshots(Conflict):
    code = "volume_has_snapshots"
    title = "Volume has snapshots"

    def __init__(self, volume_id: str, count: int) -> None:
        super().__init__(
            f"volume {volume_id} has {count} snapshot(s); delete them first",
            snapshots=count,
        )


class VolumeAttached(Conflict):
    code = "volume_attached"
    title = "Volume attached"

    def __init__(self, volume_id: str, server_id: str) -> None:
        super().__init__(
            f"volume {volume_id} is attached to server {server_id}; detach it first",
            server_id=server_id,
        )


class NoFreeDevice(Conflict):
    code = "no_free_device"
    title = "No free device name"

    def __init__(self, count: int) -> None:
        super().__init__(f"the server already has {count} data volumes (/dev/vdb../dev/vdz)")


class Unprocessable(StackGateError):
    """A well-formed request the rules refuse (422)."""

    code = "unprocessable"
    title = "Unprocessable request"
    category = Category.UNPROCESSABLE


class UnknownVolumeType(Unprocessable):
    code = "unknown_volume_type"
    title = "Unknown volume type"

    def __init__(self, name: str, known: Iterable[str]) -> None:
        super().__init__(
            f"volume_type: no volume type {name!r}; choose one of {', '.join(known)}",
            field="volume_type",
        )


class UnknownImage(Unprocessable):
    code = "unknown_image"
    title = "Unknown image"

    def __init__(self, ref: str, reason: str) -> None:
        super().__init__(f"image: {reason}", field="image", image=ref)


class VolumeTooSmall(Unprocessable):
    code = "volume_too_small"
    title = "Volume too small for the image"

    def __init__(self, size_gb: int, min_disk_gb: int, field: str = "size") -> None:
        super().__init__(
            f"{field}: {size_gb} GB is smaller than the image's min_disk {min_disk_gb} GB",
            field=field,
            min_disk_gb=min_disk_gb,
        )


class InvalidNewSize(Unprocessable):
    code = "invalid_new_size"
    title = "Invalid new size"

    def __init__(self, new_size: int, size: int) -> None:
        super().__init__(
            f"new_size: {new_size} GB must be larger than the volume's {size} GB "
            "(volumes only grow)",
            field="new_size",
            current_size=size,
        )


class InvalidVolumeRef(UnknownReference):
    """A body field names a volume that is not the project's (by id: names are not unique)."""

    title = "Unknown volume"

    def __init__(self, field: str, ref: str, ids: Iterable[str] = ()) -> None:
        super().__init__(
            field,
            ref,
            kind="volume",
            candidates=ids,
            listed_at="/api/v1/volumes",
            why=" in this project",
        )


def check_volume(op: VolumeOp, status: str, *, volume_id: str) -> None:
    """Raise 409 invalid_volume_state unless `op` may start from `status`."""
    if not cinder.may(op, status):
        raise InvalidVolumeState(
            operation=op.value,
            volume_id=volume_id,
            status=status,
            allowed=[s.value for s in cinder.allowed_statuses(op)],
        )


def check_snapshot_delete(status: str, *, snapshot_id: str) -> None:
    if status not in cinder.SNAPSHOT_DELETABLE:
        raise InvalidSnapshotState(
            operation="delete",
            snapshot_id=snapshot_id,
            status=status,
            allowed=[s.value for s in cinder.SNAPSHOT_DELETABLE],
        )


def resolve_volume_type(name: str | None) -> str:
    """The volume type a request names (the default when none); unknown -> 422."""
    if name is None:
        return cinder.DEFAULT_VOLUME_TYPE
    if name not in cinder.VOLUME_TYPES:
        raise UnknownVolumeType(name, cinder.VOLUME_TYPES)
    return name


def next_device(used: Iterable[str | None]) -> str:
    """The first free device name after vda; all 25 taken -> 409."""
    device = cinder.free_device(used)
    if device is None:
        raise NoFreeDevice(len(cinder.DEVICES))
    return device

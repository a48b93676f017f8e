"""Cinder's status rules, pure: which operation may start from which status, and the seeded
volume types (reference/openstack.md section 3). Our API answers 409 where Cinder says 400."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from stackgate.block_storage.errors import (
    InvalidSnapshotState,
    InvalidVolumeState,
    NoFreeDevice,
    UnknownVolumeType,
)


class VolumeStatus(StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    RESERVED = "reserved"
    ATTACHING = "attaching"
    IN_USE = "in-use"
    DETACHING = "detaching"
    EXTENDING = "extending"
    DELETING = "deleting"
    ERROR = "error"


class SnapshotStatus(StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    DELETING = "deleting"
    ERROR = "error"


class VolumeOp(StrEnum):
    """What may be asked of a volume (the operation names in our errors)."""

    DELETE = "delete"
    EXTEND = "extend"
    SNAPSHOT = "snapshot"
    SNAPSHOT_FORCE = "snapshot (force)"
    RESERVE = "attach"  # Cinder's attachment_create: available -> reserved
    ATTACHING = "start attaching"
    ATTACHED = "complete attaching"
    RELEASE = "release the reservation of"
    DETACH = "detach"
    DETACHED = "complete detaching"


S = VolumeStatus
ALLOWED: dict[VolumeOp, frozenset[VolumeStatus]] = {
    # Cinder: available or error (error_restoring/error_extending/error_managing are ours
    # `error` too); never attached, reserved or busy.
    VolumeOp.DELETE: frozenset({S.AVAILABLE, S.ERROR}),
    VolumeOp.EXTEND: frozenset({S.AVAILABLE}),
    VolumeOp.SNAPSHOT: frozenset({S.AVAILABLE}),
    VolumeOp.SNAPSHOT_FORCE: frozenset({S.AVAILABLE, S.IN_USE}),
    VolumeOp.RESERVE: frozenset({S.AVAILABLE}),
    VolumeOp.ATTACHING: frozenset({S.RESERVED, S.ATTACHING}),
    # DETACHING too: a detach the cloud refused leaves the volume in use where it was.
    VolumeOp.ATTACHED: frozenset({S.RESERVED, S.ATTACHING, S.IN_USE, S.DETACHING}),
    VolumeOp.RELEASE: frozenset({S.RESERVED, S.ATTACHING, S.AVAILABLE}),
    VolumeOp.DETACH: frozenset({S.IN_USE}),
    VolumeOp.DETACHED: frozenset({S.IN_USE, S.DETACHING, S.AVAILABLE}),
}

# Statuses in which the cloud is still working on the volume.
TRANSITIONAL = frozenset({S.CREATING, S.ATTACHING, S.DETACHING, S.EXTENDING, S.DELETING})
# Statuses in which a volume belongs to a server.
ATTACHED = frozenset({S.RESERVED, S.ATTACHING, S.IN_USE, S.DETACHING})

SNAPSHOT_DELETABLE = frozenset({SnapshotStatus.AVAILABLE, SnapshotStatus.ERROR})


def allowed_statuses(op: VolumeOp) -> frozenset[VolumeStatus]:
    return ALLOWED[op]


def may(op: VolumeOp, status: str) -> bool:
    return status in ALLOWED[op]


def check_volume(op: VolumeOp, status: str, *, volume_id: str) -> None:
    """Raise 409 invalid_volume_state unless `op` may start from `status`."""
    if not may(op, status):
        raise InvalidVolumeState(
            operation=op.value,
            volume_id=volume_id,
            status=status,
            allowed=[s.value for s in ALLOWED[op]],
        )


def check_snapshot_delete(status: str, *, snapshot_id: str) -> None:
    if status not in SNAPSHOT_DELETABLE:
        raise InvalidSnapshotState(
            operation="delete",
            snapshot_id=snapshot_id,
            status=status,
            allowed=[s.value for s in SNAPSHOT_DELETABLE],
        )


def snapshot_op(force: bool) -> VolumeOp:
    return VolumeOp.SNAPSHOT_FORCE if force else VolumeOp.SNAPSHOT


# The seeded volume types (Cinder's __DEFAULT__ plus two backends); ours alone, no table.
DEFAULT_VOLUME_TYPE = "__DEFAULT__"
VOLUME_TYPES: dict[str, str] = {
    DEFAULT_VOLUME_TYPE: "Default volume type",
    "lvmdriver-1": "LVM backend (DevStack's default driver)",
    "ssd": "Solid-state backend",
}


def resolve_volume_type(name: str | None) -> str:
    """The volume type a request names (the default when none); unknown -> 422."""
    if name is None:
        return DEFAULT_VOLUME_TYPE
    if name not in VOLUME_TYPES:
        raise UnknownVolumeType(name, VOLUME_TYPES)
    return name


# Devices a data volume may show as: vda is the root disk, then vdb ... vdz.
DEVICES = tuple(f"/dev/vd{chr(c)}" for c in range(ord("b"), ord("z") + 1))
ROOT_DEVICE = "/dev/vda"


def next_device(used: Iterable[str | None]) -> str:
    """The first free device name after vda; all 25 taken -> 409."""
    taken = set(used)
    for device in DEVICES:
        if device not in taken:
            return device
    raise NoFreeDevice(len(DEVICES))

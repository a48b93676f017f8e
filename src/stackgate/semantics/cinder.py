"""Cinder's status rules, pure: which operation may start from which status, the statuses in
which the cloud is still busy with a volume, the seeded volume types and the device names
(reference/openstack.md section 3). The control plane raises its own errors from these."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


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

# Cinder's own statuses (the cloud's, wider than ours) in which a volume is busy: Cinder
# refuses a delete then, so a delete waits them out.
CLOUD_BUSY = frozenset(
    {"creating", "downloading", "extending", "reserved", "attaching", "in-use", "detaching"}
)


def allowed_statuses(op: VolumeOp) -> frozenset[VolumeStatus]:
    return ALLOWED[op]


def may(op: VolumeOp, status: str) -> bool:
    return status in ALLOWED[op]


def snapshot_op(force: bool) -> VolumeOp:
    return VolumeOp.SNAPSHOT_FORCE if force else VolumeOp.SNAPSHOT


# The seeded volume types (Cinder's __DEFAULT__ plus two backends); ours alone, no table.
DEFAULT_VOLUME_TYPE = "__DEFAULT__"
VOLUME_TYPES: dict[str, str] = {
    DEFAULT_VOLUME_TYPE: "Default volume type",
    "lvmdriver-1": "LVM backend (DevStack's default driver)",
    "ssd": "Solid-state backend",
}

# Devices a data volume may show as: vda is the root disk, then vdb ... vdz.
DEVICES = tuple(f"/dev/vd{chr(c)}" for c in range(ord("b"), ord("z") + 1))
ROOT_DEVICE = "/dev/vda"


def free_device(used: Iterable[str | None]) -> str | None:
    """The first free device name after vda; None when all 25 are taken."""
    taken = set(used)
    return next((device for device in DEVICES if device not in taken), None)

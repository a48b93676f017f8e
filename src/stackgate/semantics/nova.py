"""Nova's server state model, as pure functions (DESIGN.md 5, reference/openstack.md 1).

`status` is derived from (vm_state, task_state) exactly as nova/api/openstack/common.py
derives it; the action rules follow the check_instance_state decorators in nova/compute/api.py.
The control plane and the simulator both read it; each turns a refusal into its own error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any


class ActionRefused(Exception):
    """Nova would refuse the action now. `detail` and `extra` carry what a 409 shows."""

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidStateTransition(ActionRefused):
    def __init__(
        self, *, action: str, status: str, task_state: str | None, allowed: Sequence[str]
    ) -> None:
        busy = f" while task_state is {task_state}" if task_state else ""
        choices = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"cannot {action} a server in status {status}{busy}; allowed actions: {choices}",
            action=action,
            current_status=status,
            task_state=task_state,
            allowed_actions=list(allowed),
        )


class ServerLocked(ActionRefused):
    def __init__(self, server_id: str, action: str) -> None:
        super().__init__(f"server {server_id} is locked; unlock it before {action}", action=action)
        self.server_id = server_id


class VmState(StrEnum):
    ACTIVE = "active"
    BUILDING = "building"
    PAUSED = "paused"
    SUSPENDED = "suspended"
    STOPPED = "stopped"
    RESIZED = "resized"
    DELETED = "deleted"
    ERROR = "error"
    SHELVED = "shelved"
    SHELVED_OFFLOADED = "shelved_offloaded"


class TaskState(StrEnum):
    SCHEDULING = "scheduling"
    BLOCK_DEVICE_MAPPING = "block_device_mapping"
    NETWORKING = "networking"
    SPAWNING = "spawning"
    IMAGE_SNAPSHOT_PENDING = "image_snapshot_pending"
    IMAGE_SNAPSHOT = "image_snapshot"
    IMAGE_PENDING_UPLOAD = "image_pending_upload"
    IMAGE_UPLOADING = "image_uploading"
    RESIZE_PREP = "resize_prep"
    RESIZE_MIGRATING = "resize_migrating"
    RESIZE_MIGRATED = "resize_migrated"
    RESIZE_FINISH = "resize_finish"
    RESIZE_REVERTING = "resize_reverting"
    RESIZE_CONFIRMING = "resize_confirming"
    REBOOTING = "rebooting"
    REBOOT_PENDING = "reboot_pending"
    REBOOT_STARTED = "reboot_started"
    REBOOTING_HARD = "rebooting_hard"
    REBOOT_PENDING_HARD = "reboot_pending_hard"
    REBOOT_STARTED_HARD = "reboot_started_hard"
    PAUSING = "pausing"
    UNPAUSING = "unpausing"
    SUSPENDING = "suspending"
    RESUMING = "resuming"
    POWERING_OFF = "powering-off"
    POWERING_ON = "powering-on"
    REBUILDING = "rebuilding"
    REBUILD_BLOCK_DEVICE_MAPPING = "rebuild_block_device_mapping"
    REBUILD_SPAWNING = "rebuild_spawning"
    DELETING = "deleting"
    SHELVING = "shelving"
    SHELVING_IMAGE_PENDING_UPLOAD = "shelving_image_pending_upload"
    SHELVING_IMAGE_UPLOADING = "shelving_image_uploading"
    SHELVING_OFFLOADING = "shelving_offloading"
    UNSHELVING = "unshelving"


class PowerState(IntEnum):
    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7


class Status(StrEnum):
    BUILD = "BUILD"
    ACTIVE = "ACTIVE"
    SHUTOFF = "SHUTOFF"
    PAUSED = "PAUSED"
    SUSPENDED = "SUSPENDED"
    REBOOT = "REBOOT"
    HARD_REBOOT = "HARD_REBOOT"
    REBUILD = "REBUILD"
    RESIZE = "RESIZE"
    VERIFY_RESIZE = "VERIFY_RESIZE"
    REVERT_RESIZE = "REVERT_RESIZE"
    SHELVED = "SHELVED"
    SHELVED_OFFLOADED = "SHELVED_OFFLOADED"
    ERROR = "ERROR"
    DELETED = "DELETED"
    UNKNOWN = "UNKNOWN"


T = TaskState
_REBOOT = {T.REBOOTING, T.REBOOT_PENDING, T.REBOOT_STARTED}
_HARD_REBOOT = {T.REBOOTING_HARD, T.REBOOT_PENDING_HARD, T.REBOOT_STARTED_HARD}
_REBUILD = {T.REBUILDING, T.REBUILD_BLOCK_DEVICE_MAPPING, T.REBUILD_SPAWNING}
_RESIZE = {T.RESIZE_PREP, T.RESIZE_MIGRATING, T.RESIZE_MIGRATED, T.RESIZE_FINISH}

# nova/api/openstack/common.py _STATE_MAP: a default per vm_state and a few overrides.
_STATUS_DEFAULT: dict[str, Status] = {
    VmState.BUILDING: Status.BUILD,
    VmState.ACTIVE: Status.ACTIVE,
    VmState.STOPPED: Status.SHUTOFF,
    VmState.RESIZED: Status.VERIFY_RESIZE,
    VmState.PAUSED: Status.PAUSED,
    VmState.SUSPENDED: Status.SUSPENDED,
    VmState.ERROR: Status.ERROR,
    VmState.DELETED: Status.DELETED,
    VmState.SHELVED: Status.SHELVED,
    VmState.SHELVED_OFFLOADED: Status.SHELVED_OFFLOADED,
}
_STATUS_OVERRIDE: dict[str, dict[str, Status]] = {
    VmState.ACTIVE: {
        **dict.fromkeys(_REBOOT, Status.REBOOT),
        **dict.fromkeys(_HARD_REBOOT, Status.HARD_REBOOT),
        **dict.fromkeys(_REBUILD, Status.REBUILD),
        **dict.fromkeys(_RESIZE, Status.RESIZE),
    },
    VmState.STOPPED: {
        **dict.fromkeys(_RESIZE, Status.RESIZE),
        **dict.fromkeys(_REBUILD, Status.REBUILD),
    },
    VmState.RESIZED: {T.RESIZE_REVERTING: Status.REVERT_RESIZE},
    VmState.ERROR: dict.fromkeys(_REBUILD, Status.REBUILD),
}


def derive_status(vm_state: str, task_state: str | None) -> str:
    """The API status of a server, as Nova shows it."""
    default = _STATUS_DEFAULT.get(vm_state)
    if default is None:
        return Status.UNKNOWN.value
    if task_state is not None:
        override = _STATUS_OVERRIDE.get(vm_state, {}).get(task_state)
        if override is not None:
            return override.value
    return default.value


def statuses_for_filter(status: str) -> list[str]:
    """Seed-compatible aliases used in list filters (DESIGN.md 5)."""
    aliases = {"RUNNING": Status.ACTIVE.value, "STOPPED": Status.SHUTOFF.value}
    return [aliases.get(status, status)]


class Action(StrEnum):
    START = "start"
    STOP = "stop"
    REBOOT = "reboot"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    SUSPEND = "suspend"
    RESUME = "resume"
    RESIZE = "resize"
    CONFIRM_RESIZE = "confirm-resize"
    REVERT_RESIZE = "revert-resize"
    REBUILD = "rebuild"
    SNAPSHOT = "snapshot"
    SHELVE = "shelve"
    UNSHELVE = "unshelve"
    LOCK = "lock"
    UNLOCK = "unlock"
    DELETE = "delete"
    CREATE = "create"
    # Server operations that are no lifecycle action (no task_state; instance action log).
    ATTACH_VOLUME = "attach_volume"
    DETACH_VOLUME = "detach_volume"
    ADD_SECURITY_GROUP = "add_security_group"
    REMOVE_SECURITY_GROUP = "remove_security_group"


# Accepted in the action path besides the canonical names (seed 000's words).
ACTION_ALIASES = {
    "restart": Action.REBOOT,
    "confirm_resize": Action.CONFIRM_RESIZE,
    "revert_resize": Action.REVERT_RESIZE,
}

V = VmState
_ANY_VM = frozenset(VmState) - {V.DELETED}
_IDLE: frozenset[str | None] = frozenset({None})


# Statuses in which the cloud is still working on the server.
_BUSY = ("BUILD", "REBOOT", "HARD_REBOOT", "REBUILD", "RESIZE", "REVERT_RESIZE")
TRANSITIONAL = frozenset(Status(name) for name in _BUSY)


@dataclass(frozen=True, slots=True)
class Rule:
    """When an action may start and what task_state it sets (nova/compute/api.py)."""

    vm_states: frozenset[str]
    task_state: str | None
    task_states: frozenset[str | None] | None = _IDLE  # None: any task may be running
    must_have_launched: bool = True
    lock_checked: bool = True


RULES: dict[str, Rule] = {
    Action.START: Rule(frozenset({V.STOPPED}), T.POWERING_ON),
    Action.STOP: Rule(frozenset({V.ACTIVE, V.ERROR}), T.POWERING_OFF),
    Action.PAUSE: Rule(frozenset({V.ACTIVE}), T.PAUSING),
    Action.UNPAUSE: Rule(frozenset({V.PAUSED}), T.UNPAUSING),
    Action.SUSPEND: Rule(frozenset({V.ACTIVE}), T.SUSPENDING),
    Action.RESUME: Rule(frozenset({V.SUSPENDED}), T.RESUMING),
    Action.RESIZE: Rule(frozenset({V.ACTIVE, V.STOPPED}), T.RESIZE_PREP),
    Action.CONFIRM_RESIZE: Rule(frozenset({V.RESIZED}), T.RESIZE_CONFIRMING),
    Action.REVERT_RESIZE: Rule(frozenset({V.RESIZED}), T.RESIZE_REVERTING),
    Action.REBUILD: Rule(frozenset({V.ACTIVE, V.STOPPED, V.ERROR}), T.REBUILDING),
    # createImage skips the lock check on purpose (nova/compute/api.py snapshot).
    Action.SNAPSHOT: Rule(
        frozenset({V.ACTIVE, V.STOPPED, V.PAUSED, V.SUSPENDED}),
        T.IMAGE_SNAPSHOT_PENDING,
        lock_checked=False,
    ),
    Action.SHELVE: Rule(frozenset({V.ACTIVE, V.STOPPED, V.PAUSED, V.SUSPENDED}), T.SHELVING),
    Action.UNSHELVE: Rule(frozenset({V.SHELVED, V.SHELVED_OFFLOADED}), T.UNSHELVING),
    Action.LOCK: Rule(
        _ANY_VM, None, task_states=None, must_have_launched=False, lock_checked=False
    ),
    Action.UNLOCK: Rule(
        _ANY_VM, None, task_states=None, must_have_launched=False, lock_checked=False
    ),
    Action.DELETE: Rule(_ANY_VM, T.DELETING, task_states=None, must_have_launched=False),
}
SOFT_REBOOT = Rule(frozenset({V.ACTIVE}), T.REBOOTING)
# A hard reboot may override a soft reboot or a stuck power transition (nova reboot()).
HARD_REBOOT = Rule(
    frozenset({V.ACTIVE, V.STOPPED, V.PAUSED, V.SUSPENDED, V.ERROR}),
    T.REBOOTING_HARD,
    task_states=frozenset(
        {None, *_REBOOT, T.REBOOTING_HARD, T.RESUMING, T.UNPAUSING, T.PAUSING, T.SUSPENDING}
    ),
)

USER_ACTIONS: tuple[str, ...] = (
    Action.START,
    Action.STOP,
    Action.REBOOT,
    Action.PAUSE,
    Action.UNPAUSE,
    Action.SUSPEND,
    Action.RESUME,
    Action.RESIZE,
    Action.CONFIRM_RESIZE,
    Action.REVERT_RESIZE,
    Action.REBUILD,
    Action.SHELVE,
    Action.UNSHELVE,
    Action.LOCK,
    Action.UNLOCK,
    Action.SNAPSHOT,
    Action.DELETE,
)


@dataclass(frozen=True, slots=True)
class ServerView:
    """The facts a rule looks at."""

    vm_state: str
    task_state: str | None
    launched: bool
    locked: bool = False

    @property
    def status(self) -> str:
        return derive_status(self.vm_state, self.task_state)


def rule_for(action: str, reboot_type: str = "SOFT") -> Rule:
    if action == Action.REBOOT:
        return HARD_REBOOT if reboot_type == "HARD" else SOFT_REBOOT
    return RULES[action]


def _permits(rule: Rule, view: ServerView) -> bool:
    if view.vm_state not in rule.vm_states:
        return False
    if rule.task_states is not None and view.task_state not in rule.task_states:
        return False
    # A server that failed during build never launched: only delete helps (nova must_have_launched).
    return not (rule.must_have_launched and view.vm_state == V.ERROR and not view.launched)


def allowed_actions(view: ServerView, *, is_admin: bool = False) -> list[str]:
    """The user actions that would be accepted now, in a stable order."""
    allowed: list[str] = []
    for action in USER_ACTIONS:
        rules = [SOFT_REBOOT, HARD_REBOOT] if action == Action.REBOOT else [RULES[action]]
        if view.locked and not is_admin and all(r.lock_checked for r in rules):
            continue
        if any(_permits(r, view) for r in rules):
            allowed.append(str(action))
    return allowed


def check_action(
    action: str,
    view: ServerView,
    *,
    server_id: str,
    reboot_type: str = "SOFT",
    is_admin: bool = False,
) -> str | None:
    """Raise unless `action` may start now; return the task_state it sets."""
    rule = rule_for(action, reboot_type)
    if rule.lock_checked and view.locked and not is_admin:
        raise ServerLocked(server_id, action)
    if not _permits(rule, view):
        raise InvalidStateTransition(
            action=action if action != Action.REBOOT else f"reboot ({reboot_type})",
            status=view.status,
            task_state=view.task_state,
            allowed=allowed_actions(view, is_admin=is_admin),
        )
    return rule.task_state


@dataclass(frozen=True, slots=True)
class Outcome:
    vm_state: str
    power_state: int


def outcome_of(action: str, *, vm_state: str, power_state: int) -> Outcome:
    """Where a successful action leaves a server (nova/compute/manager.py)."""
    running = Outcome(V.ACTIVE, PowerState.RUNNING)
    was_off = power_state == PowerState.SHUTDOWN or vm_state == V.STOPPED
    stopped = Outcome(V.STOPPED, PowerState.SHUTDOWN)
    table: dict[str, Outcome] = {
        Action.CREATE: running,
        Action.START: running,
        Action.STOP: stopped,
        Action.REBOOT: running,
        Action.PAUSE: Outcome(V.PAUSED, PowerState.PAUSED),
        Action.UNPAUSE: running,
        Action.SUSPEND: Outcome(V.SUSPENDED, PowerState.SUSPENDED),
        Action.RESUME: running,
        Action.RESIZE: Outcome(V.RESIZED, PowerState.SHUTDOWN if was_off else PowerState.RUNNING),
        Action.CONFIRM_RESIZE: stopped if was_off else running,
        Action.REVERT_RESIZE: stopped if was_off else running,
        # Nova powers a rebuilt server off again when it was stopped before.
        Action.REBUILD: stopped if was_off else running,
        Action.SHELVE: Outcome(V.SHELVED_OFFLOADED, PowerState.SHUTDOWN),
        Action.UNSHELVE: running,
        Action.SNAPSHOT: Outcome(vm_state, power_state),
        Action.DELETE: Outcome(V.DELETED, PowerState.NOSTATE),
    }
    return table[action]


# Task states a server passes through while the cloud works, for display (BUILD shows them).
PROGRESS: dict[str, tuple[str, ...]] = {
    Action.CREATE: (T.SCHEDULING, T.NETWORKING, T.SPAWNING),
    Action.RESIZE: (T.RESIZE_PREP, T.RESIZE_MIGRATING, T.RESIZE_MIGRATED, T.RESIZE_FINISH),
    Action.SNAPSHOT: (
        T.IMAGE_SNAPSHOT_PENDING,
        T.IMAGE_SNAPSHOT,
        T.IMAGE_PENDING_UPLOAD,
        T.IMAGE_UPLOADING,
    ),
    Action.SHELVE: (T.SHELVING, T.SHELVING_IMAGE_PENDING_UPLOAD, T.SHELVING_OFFLOADING),
    Action.REBUILD: (T.REBUILDING, T.REBUILD_BLOCK_DEVICE_MAPPING, T.REBUILD_SPAWNING),
}

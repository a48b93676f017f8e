"""The state machine, action x status, against the table written in DESIGN.md section 5
(written out here independently of semantics/nova.py so a wrong rule there fails here)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stackgate.semantics.nova import (
    InvalidStateTransition,
    PowerState,
    ServerLocked,
    ServerView,
    TaskState,
    VmState,
    allowed_actions,
    check_action,
    derive_status,
    outcome_of,
)

ALWAYS = {"lock", "unlock", "delete"}
ALL = [
    "start",
    "stop",
    "reboot-soft",
    "reboot-hard",
    "pause",
    "unpause",
    "suspend",
    "resume",
    "resize",
    "confirm-resize",
    "revert-resize",
    "rebuild",
    "snapshot",
    "shelve",
    "unshelve",
    "lock",
    "unlock",
    "delete",
]

# (label, vm_state, task_state, launched) -> the actions that must be accepted.
CASES: list[tuple[str, str, str | None, bool, set[str]]] = [
    (
        "ACTIVE",
        "active",
        None,
        True,
        ALWAYS
        | {
            "stop",
            "reboot-soft",
            "reboot-hard",
            "pause",
            "suspend",
            "resize",
            "rebuild",
            "snapshot",
            "shelve",
        },
    ),
    (
        "SHUTOFF",
        "stopped",
        None,
        True,
        ALWAYS | {"start", "reboot-hard", "resize", "rebuild", "snapshot", "shelve"},
    ),
    ("PAUSED", "paused", None, True, ALWAYS | {"unpause", "reboot-hard", "snapshot", "shelve"}),
    (
        "SUSPENDED",
        "suspended",
        None,
        True,
        ALWAYS | {"resume", "reboot-hard", "snapshot", "shelve"},
    ),
    ("VERIFY_RESIZE", "resized", None, True, ALWAYS | {"confirm-resize", "revert-resize"}),
    ("SHELVED", "shelved", None, True, ALWAYS | {"unshelve"}),
    ("SHELVED_OFFLOADED", "shelved_offloaded", None, True, ALWAYS | {"unshelve"}),
    ("ERROR after launch", "error", None, True, ALWAYS | {"stop", "reboot-hard", "rebuild"}),
    ("ERROR during build", "error", None, False, ALWAYS),
    ("BUILD", "building", "scheduling", False, ALWAYS),
    ("ACTIVE powering-off", "active", "powering-off", True, ALWAYS),
    ("ACTIVE pausing", "active", "pausing", True, ALWAYS | {"reboot-hard"}),
    ("REBOOT", "active", "rebooting", True, ALWAYS | {"reboot-hard"}),
    ("RESIZE", "active", "resize_prep", True, ALWAYS),
    ("SHUTOFF powering-on", "stopped", "powering-on", True, ALWAYS),
    ("ACTIVE image_snapshot", "active", "image_snapshot", True, ALWAYS),
]


def _check(action: str, view: ServerView) -> str | None:
    name, _, kind = action.partition("-")
    if name == "reboot":
        return check_action("reboot", view, server_id="s", reboot_type=kind.upper())
    return check_action(action, view, server_id="s")


@pytest.mark.parametrize(
    "label,vm_state,task_state,launched,allowed", CASES, ids=[c[0] for c in CASES]
)
@pytest.mark.parametrize("action", ALL)
def test_every_action_in_every_status(
    label: str,
    vm_state: str,
    task_state: str | None,
    launched: bool,
    allowed: set[str],
    action: str,
) -> None:
    view = ServerView(vm_state, task_state, launched)
    if action in allowed:
        _check(action, view)
    else:
        with pytest.raises(InvalidStateTransition) as info:
            _check(action, view)
        assert info.value.extra["current_status"] == view.status
        assert "allowed actions" in info.value.detail


@pytest.mark.parametrize(
    "label,vm_state,task_state,launched,allowed", CASES, ids=[c[0] for c in CASES]
)
def test_allowed_actions_lists_what_would_be_accepted(
    label: str, vm_state: str, task_state: str | None, launched: bool, allowed: set[str]
) -> None:
    listed = set(allowed_actions(ServerView(vm_state, task_state, launched)))
    expected = {a.split("-")[0] if a.startswith("reboot") else a for a in allowed}
    assert listed == expected


def test_task_state_set_by_actions() -> None:
    active = ServerView("active", None, True)
    assert _check("stop", active) == "powering-off"
    assert _check("reboot-soft", active) == "rebooting"
    assert _check("reboot-hard", active) == "rebooting_hard"
    assert _check("resize", active) == "resize_prep"
    assert _check("delete", active) == "deleting"
    assert _check("lock", active) is None


@pytest.mark.parametrize(
    "action", ["stop", "reboot-soft", "pause", "resize", "rebuild", "shelve", "delete"]
)
def test_locked_server_refuses_member_actions(action: str) -> None:
    view = ServerView("active", None, True, locked=True)
    with pytest.raises(ServerLocked):
        _check(action, view)
    name, _, kind = action.partition("-")
    check_action(name, view, server_id="s", reboot_type=(kind or "soft").upper(), is_admin=True)


@pytest.mark.parametrize("action", ["snapshot", "lock", "unlock"])
def test_locked_server_still_allows(action: str) -> None:
    _check(action, ServerView("active", None, True, locked=True))


STATUS_TABLE = [
    ("building", None, "BUILD"),
    ("building", "spawning", "BUILD"),
    ("active", None, "ACTIVE"),
    ("active", "powering-off", "ACTIVE"),
    ("active", "pausing", "ACTIVE"),
    ("active", "image_snapshot", "ACTIVE"),
    ("active", "deleting", "ACTIVE"),
    ("active", "rebooting", "REBOOT"),
    ("active", "reboot_started", "REBOOT"),
    ("active", "rebooting_hard", "HARD_REBOOT"),
    ("active", "rebuilding", "REBUILD"),
    ("active", "resize_prep", "RESIZE"),
    ("active", "resize_finish", "RESIZE"),
    ("stopped", None, "SHUTOFF"),
    ("stopped", "powering-on", "SHUTOFF"),
    ("stopped", "resize_migrating", "RESIZE"),
    ("stopped", "rebuild_spawning", "REBUILD"),
    ("stopped", "rebooting_hard", "SHUTOFF"),
    ("resized", None, "VERIFY_RESIZE"),
    ("resized", "resize_confirming", "VERIFY_RESIZE"),
    ("resized", "resize_reverting", "REVERT_RESIZE"),
    ("paused", None, "PAUSED"),
    ("suspended", "resuming", "SUSPENDED"),
    ("error", None, "ERROR"),
    ("error", "rebuilding", "REBUILD"),
    ("shelved", None, "SHELVED"),
    ("shelved_offloaded", "unshelving", "SHELVED_OFFLOADED"),
    ("deleted", None, "DELETED"),
    ("rescued", None, "UNKNOWN"),
]


@pytest.mark.parametrize("vm_state,task_state,status", STATUS_TABLE)
def test_status_is_derived_as_nova_derives_it(
    vm_state: str, task_state: str | None, status: str
) -> None:
    assert derive_status(vm_state, task_state) == status


@given(st.sampled_from(list(VmState)), st.one_of(st.none(), st.sampled_from(list(TaskState))))
def test_a_busy_server_accepts_only_delete_lock_unlock_and_hard_reboot(
    vm_state: VmState, task_state: TaskState | None
) -> None:
    view = ServerView(vm_state, task_state, True)
    allowed = set(allowed_actions(view))
    if task_state is not None:
        assert allowed <= {"delete", "lock", "unlock", "reboot"}


def test_outcomes() -> None:
    assert outcome_of("stop", vm_state="active", power_state=1).vm_state == "stopped"
    assert outcome_of("rebuild", vm_state="stopped", power_state=4).vm_state == "stopped"
    assert (
        outcome_of("confirm-resize", vm_state="resized", power_state=PowerState.SHUTDOWN).vm_state
        == "stopped"
    )
    assert (
        outcome_of("confirm-resize", vm_state="resized", power_state=PowerState.RUNNING).vm_state
        == "active"
    )
    assert outcome_of("shelve", vm_state="active", power_state=1).vm_state == "shelved_offloaded"

"""Server row changes -> compute.instance.* events (compute/events.py)."""

from __future__ import annotations

from typing import Any

from stackgate.compute.events import derive_server
from stackgate.events.changes import Change, Emit

SMALL = {"flavor_name": "m1.small", "vcpus": 1, "ram_mb": 2048, "disk_gb": 20}
MEDIUM = {"flavor_name": "m1.medium", "vcpus": 2, "ram_mb": 4096, "disk_gb": 40}


def row(**fields: Any) -> dict[str, Any]:
    base = {
        "id": "s-1",
        "project_id": "p-1",
        "user_id": "u-1",
        "status": "ACTIVE",
        "vm_state": "active",
        "task_state": None,
        **SMALL,
    }
    return base | fields


def types(events: list[Emit]) -> list[str]:
    return [event.event_type for event in events]


def test_insert_is_create_start_with_state_and_flavor() -> None:
    values = row(status="BUILD", vm_state="building", task_state="scheduling")
    (event,) = derive_server(Change("insert", values))
    assert event.event_type == "compute.instance.create.start"
    assert event.payload == {
        "status": "BUILD",
        "vm_state": "building",
        "task_state": "scheduling",
        **SMALL,
    }


def test_insert_already_active_is_also_create_end() -> None:
    events = derive_server(Change("insert", row()))
    assert types(events) == ["compute.instance.create.start", "compute.instance.create.end"]
    assert events[1].payload == SMALL


def test_building_to_active_is_create_end_with_the_flavor() -> None:
    change = Change(
        "update", row(), {"vm_state": "building", "status": "BUILD", "task_state": "spawning"}
    )
    assert derive_server(change) == [Emit("compute.instance.create.end", SMALL)]


def test_building_to_error_is_an_update() -> None:
    values = row(vm_state="error", status="ERROR")
    change = Change("update", values, {"vm_state": "building", "status": "BUILD"})
    assert derive_server(change) == [
        Emit(
            "compute.instance.update", {"status": "ERROR", "vm_state": "error", "task_state": None}
        )
    ]


def test_task_state_change_is_an_update() -> None:
    values = row(task_state="powering-off")
    (event,) = derive_server(Change("update", values, {"task_state": None}))
    assert event.event_type == "compute.instance.update"
    assert event.payload["task_state"] == "powering-off"


def test_flavor_of_record_changing_is_resize_end_with_the_new_flavor() -> None:
    values = row(vm_state="resized", status="VERIFY_RESIZE", **MEDIUM)
    old = {"vm_state": "active", "status": "RESIZE", "task_state": "resize_finish"} | SMALL
    events = derive_server(Change("update", values, old))
    assert types(events) == ["compute.instance.update", "compute.instance.resize.end"]
    assert events[1].payload == MEDIUM


def test_revert_back_to_the_old_flavor_is_resize_end_too() -> None:
    values = row(**SMALL)
    old = {"vm_state": "resized", "status": "REVERT_RESIZE"} | MEDIUM
    events = derive_server(Change("update", values, old))
    assert events[-1] == Emit("compute.instance.resize.end", SMALL)


def test_confirm_without_flavor_change_is_only_an_update() -> None:
    old = {"vm_state": "resized", "status": "VERIFY_RESIZE", "task_state": "resize_confirming"}
    assert types(derive_server(Change("update", row(), old))) == ["compute.instance.update"]


def test_flavor_set_while_building_is_no_resize() -> None:
    values = row(vm_state="building", status="BUILD", **MEDIUM)
    assert derive_server(Change("update", values, SMALL)) == []


def test_vm_state_deleted_is_delete_end_only() -> None:
    values = row(vm_state="deleted", status="DELETED")
    change = Change(
        "update", values, {"vm_state": "active", "status": "ACTIVE", "task_state": "deleting"}
    )
    assert derive_server(change) == [Emit("compute.instance.delete.end", {})]


def test_changes_after_deleted_say_nothing() -> None:
    values = row(vm_state="deleted", status="DELETED", task_state=None)
    assert derive_server(Change("update", values, {"host": "h1"})) == []


def test_row_removed_is_delete_end_unless_already_deleted() -> None:
    assert types(derive_server(Change("delete", row()))) == ["compute.instance.delete.end"]
    assert derive_server(Change("delete", row(vm_state="deleted"))) == []


def test_unrelated_changes_say_nothing() -> None:
    assert derive_server(Change("update", row(name="x"), {"name": "web"})) == []

"""Volume and snapshot row changes -> volume.* / snapshot.* events (block_storage/events.py)."""

from __future__ import annotations

from typing import Any

import pytest

from stackgate.block_storage.events import derive_snapshot, derive_volume
from stackgate.events.changes import Change, Emit


def volume(**fields: Any) -> dict[str, Any]:
    return {
        "id": "v-1",
        "project_id": "p",
        "user_id": "u",
        "size_gb": 10,
        "status": "available",
    } | fields


def test_insert_is_create_start() -> None:
    assert derive_volume(Change("insert", volume(status="creating"))) == [
        Emit("volume.create.start", {"size_gb": 10, "status": "creating"})
    ]


def test_creating_to_available_is_create_end_with_size() -> None:
    change = Change("update", volume(), {"status": "creating"})
    assert derive_volume(change) == [Emit("volume.create.end", {"size_gb": 10})]


@pytest.mark.parametrize("status", ["reserved", "in-use", "attaching"])
def test_creating_straight_to_attached_is_create_end(status: str) -> None:
    change = Change("update", volume(status=status), {"status": "creating"})
    assert derive_volume(change) == [Emit("volume.create.end", {"size_gb": 10})]


def test_creating_to_error_is_an_update() -> None:
    change = Change("update", volume(status="error"), {"status": "creating"})
    assert derive_volume(change) == [Emit("volume.update", {"status": "error"})]


def test_extend_is_resize_end_with_the_new_size() -> None:
    change = Change("update", volume(size_gb=20), {"size_gb": 10, "status": "extending"})
    assert derive_volume(change) == [
        Emit("volume.update", {"status": "available"}),
        Emit("volume.resize.end", {"size_gb": 20}),
    ]


def test_other_status_changes_are_updates() -> None:
    change = Change("update", volume(status="in-use"), {"status": "attaching"})
    assert derive_volume(change) == [Emit("volume.update", {"status": "in-use"})]


def test_row_removed_is_delete_end() -> None:
    assert derive_volume(Change("delete", volume(status="deleting"))) == [Emit("volume.delete.end")]


def test_unrelated_change_says_nothing() -> None:
    assert derive_volume(Change("update", volume(name="b"), {"name": "a"})) == []


def test_snapshot_life_cycle() -> None:
    snap = {"id": "sn", "project_id": "p", "volume_id": "v-1", "size_gb": 10, "status": "creating"}
    assert derive_snapshot(Change("insert", snap))[0].event_type == "snapshot.create.start"
    done = Change("update", snap | {"status": "available"}, {"status": "creating"})
    assert derive_snapshot(done) == [
        Emit("snapshot.create.end", {"size_gb": 10, "volume_id": "v-1"})
    ]
    assert derive_snapshot(Change("delete", snap)) == [Emit("snapshot.delete.end")]

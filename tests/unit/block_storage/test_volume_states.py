"""Cinder's status rules (semantics/cinder.py) and the errors block_storage raises from them,
without a database."""

from __future__ import annotations

import pytest

from stackgate.block_storage.errors import (
    InvalidSnapshotState,
    InvalidVolumeState,
    NoFreeDevice,
    UnknownVolumeType,
    check_snapshot_delete,
    check_volume,
    next_device,
    resolve_volume_type,
)
from stackgate.core.errors import Category
from stackgate.semantics.cinder import (
    DEFAULT_VOLUME_TYPE,
    VOLUME_TYPES,
    VolumeOp,
    VolumeStatus,
    may,
    snapshot_op,
)

ALL = [s.value for s in VolumeStatus]


@pytest.mark.parametrize("status", ALL)
def test_delete_only_from_available_or_error(status: str) -> None:
    assert may(VolumeOp.DELETE, status) == (status in ("available", "error"))


@pytest.mark.parametrize("status", ALL)
def test_extend_only_from_available(status: str) -> None:
    assert may(VolumeOp.EXTEND, status) == (status == "available")


@pytest.mark.parametrize("status", ALL)
def test_snapshot_needs_available_or_in_use_with_force(status: str) -> None:
    assert may(snapshot_op(False), status) == (status == "available")
    assert may(snapshot_op(True), status) == (status in ("available", "in-use"))


@pytest.mark.parametrize("status", ALL)
def test_attach_reserves_only_an_available_volume(status: str) -> None:
    assert may(VolumeOp.RESERVE, status) == (status == "available")


@pytest.mark.parametrize("status", ALL)
def test_detach_only_from_in_use(status: str) -> None:
    assert may(VolumeOp.DETACH, status) == (status == "in-use")


def test_refusal_is_a_409_naming_the_status_and_what_is_allowed() -> None:
    with pytest.raises(InvalidVolumeState) as caught:
        check_volume(VolumeOp.DELETE, "in-use", volume_id="v-1")
    error = caught.value
    assert error.category is Category.CONFLICT
    assert error.code == "invalid_volume_state"
    assert "in-use" in error.detail and "available" in error.detail and "error" in error.detail
    assert error.extra["current_status"] == "in-use"
    assert error.extra["allowed_statuses"] == ["available", "error"]


def test_allowed_transition_passes_silently() -> None:
    check_volume(VolumeOp.EXTEND, "available", volume_id="v-1")


def test_snapshot_delete_rules() -> None:
    check_snapshot_delete("available", snapshot_id="s")
    check_snapshot_delete("error", snapshot_id="s")
    for status in ("creating", "deleting"):
        with pytest.raises(InvalidSnapshotState):
            check_snapshot_delete(status, snapshot_id="s")


def test_volume_types() -> None:
    assert resolve_volume_type(None) == DEFAULT_VOLUME_TYPE == "__DEFAULT__"
    assert {"__DEFAULT__", "lvmdriver-1", "ssd"} <= set(VOLUME_TYPES)
    assert resolve_volume_type("ssd") == "ssd"
    with pytest.raises(UnknownVolumeType) as caught:
        resolve_volume_type("gold")
    assert caught.value.category is Category.UNPROCESSABLE
    assert caught.value.extra["field"] == "volume_type"


def test_next_device_skips_root_and_used() -> None:
    assert next_device([]) == "/dev/vdb"
    assert next_device(["/dev/vda"]) == "/dev/vdb"
    assert next_device(["/dev/vdb", "/dev/vdd"]) == "/dev/vdc"
    every = [f"/dev/vd{chr(c)}" for c in range(ord("b"), ord("z") + 1)]
    assert next_device(every[:-1]) == "/dev/vdz"
    with pytest.raises(NoFreeDevice):
        next_device(every)

"""Server events (Nova's notification names), derived from one row change. Pure."""

from __future__ import annotations

from typing import Any

from stackgate.events.changes import Change, Emit

CREATE_START = "compute.instance.create.start"
CREATE_END = "compute.instance.create.end"
RESIZE_END = "compute.instance.resize.end"
DELETE_END = "compute.instance.delete.end"
UPDATE = "compute.instance.update"

FLAVOR_FIELDS = ("flavor_name", "vcpus", "ram_mb", "disk_gb")
STATE_FIELDS = ("status", "vm_state", "task_state")

BUILDING = "building"
ACTIVE = "active"
DELETED = "deleted"


def flavor(values: Any) -> dict[str, Any]:
    return {name: values.get(name) for name in FLAVOR_FIELDS}


def state(values: Any) -> dict[str, Any]:
    return {name: values.get(name) for name in STATE_FIELDS}


def derive_server(change: Change) -> list[Emit]:
    """create.start on insert; create.end when the build finished (building -> active) with
    the flavor billing rates; resize.end whenever the flavor of record changes outside a build
    (a finished resize, or a revert back to the old flavor); delete.end once deleted; any other
    change of the state triple is compute.instance.update."""
    values = change.values
    if change.kind == "insert":
        created = [Emit(CREATE_START, state(values) | flavor(values))]
        if values.get("vm_state") == ACTIVE:
            created.append(Emit(CREATE_END, flavor(values)))
        return created
    if change.kind == "delete":
        # A soft-deleted row already announced its end; a purge says nothing new.
        return [] if change.before("vm_state") == DELETED else [Emit(DELETE_END)]

    vm_before, vm_now = change.before("vm_state"), change.now("vm_state")
    if change.changed("vm_state") and vm_now == DELETED:
        return [Emit(DELETE_END)]
    if vm_now == DELETED:
        return []
    events: list[Emit] = []
    if change.changed("vm_state") and vm_before == BUILDING and vm_now == ACTIVE:
        events.append(Emit(CREATE_END, flavor(values)))
    elif any(change.changed(name) for name in STATE_FIELDS):
        events.append(Emit(UPDATE, state(values)))
    flavor_changed = any(change.changed(name) for name in FLAVOR_FIELDS)
    if flavor_changed and vm_now != BUILDING and vm_before != BUILDING:
        events.append(Emit(RESIZE_END, flavor(values)))
    return events

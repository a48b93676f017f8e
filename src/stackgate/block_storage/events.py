"""Volume and snapshot events (Cinder's notification names), derived from one row change. Pure."""

from __future__ import annotations

from stackgate.events.changes import Change, Emit

CREATING = "creating"
# Leaving `creating` for one of these is a failed create, not a volume that exists.
NOT_CREATED = frozenset({"error", "deleting", CREATING})


def derive_volume(change: Change) -> list[Emit]:
    """volume.create.start on insert; volume.create.end {size_gb} when it leaves `creating`
    for a usable status (available, or straight to reserved/in-use when a server boots from
    it); volume.resize.end {size_gb} when the size changes (extend); volume.delete.end when the
    row goes; any other status change is volume.update {status}."""
    return _derive(change, prefix="volume", extra=())


def derive_snapshot(change: Change) -> list[Emit]:
    """The same life cycle for snapshots, as Cinder's snapshot.* notifications."""
    return _derive(change, prefix="snapshot", extra=("volume_id",))


def _derive(change: Change, *, prefix: str, extra: tuple[str, ...]) -> list[Emit]:
    values = change.values
    sizes = {"size_gb": values.get("size_gb")} | {name: values.get(name) for name in extra}
    if change.kind == "insert":
        events = [Emit(f"{prefix}.create.start", sizes | {"status": values.get("status")})]
        if values.get("status") not in NOT_CREATED:
            events.append(Emit(f"{prefix}.create.end", sizes))
        return events
    if change.kind == "delete":
        return [Emit(f"{prefix}.delete.end")]
    events = []
    if change.changed("status"):
        before, now = change.before("status"), change.now("status")
        if before == CREATING and now not in NOT_CREATED:
            events.append(Emit(f"{prefix}.create.end", sizes))
        else:
            events.append(Emit(f"{prefix}.update", {"status": now}))
    if change.changed("size_gb") and change.before("status") != CREATING:
        events.append(Emit(f"{prefix}.resize.end", {"size_gb": values.get("size_gb")}))
    return events

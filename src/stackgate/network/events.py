"""Neutron-style events for networks, subnets, ports, security groups, rules and floating IPs,
derived from one row change. Pure."""

from __future__ import annotations

from collections.abc import Callable

from stackgate.events.changes import Change, Emit


def derive_floating_ip(change: Change) -> list[Emit]:
    """floatingip.create.end {floating_ip_address} on allocation (billing starts the
    floating-IP-hour there), floatingip.delete.end on release, floatingip.update
    {port_id, status} when the association or the status changes."""
    values = change.values
    if change.kind == "insert":
        payload = {
            "floating_ip_address": values.get("floating_ip_address"),
            "port_id": values.get("port_id"),
            "status": values.get("status"),
        }
        return [Emit("floatingip.create.end", payload)]
    if change.kind == "delete":
        return [Emit("floatingip.delete.end", {})]
    if any(change.changed(name) for name in ("port_id", "status", "fixed_ip_address")):
        return [
            Emit(
                "floatingip.update",
                {
                    "port_id": values.get("port_id"),
                    "fixed_ip_address": values.get("fixed_ip_address"),
                    "status": values.get("status"),
                },
            )
        ]
    return []


def generic(prefix: str) -> Callable[[Change], list[Emit]]:
    """<prefix>.create.end on insert, .delete.end on delete, .update on a status change."""

    def derive(change: Change) -> list[Emit]:
        status = change.values.get("status")
        if change.kind == "insert":
            return [Emit(f"{prefix}.create.end", {"status": status} if status else {})]
        if change.kind == "delete":
            return [Emit(f"{prefix}.delete.end", {})]
        if change.changed("status"):
            return [Emit(f"{prefix}.update", {"status": status})]
        return []

    derive.__name__ = f"derive_{prefix}"
    return derive


derive_network = generic("network")
derive_subnet = generic("subnet")
derive_port = generic("port")
derive_security_group = generic("security_group")
derive_security_group_rule = generic("security_group_rule")

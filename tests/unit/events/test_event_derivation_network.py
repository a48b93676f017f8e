"""Network-side row changes -> Neutron-style events (network/events.py)."""

from __future__ import annotations

from typing import Any

import pytest

from stackgate.events.changes import Change, Derivation, Emit
from stackgate.network.events import (
    derive_floating_ip,
    derive_network,
    derive_port,
    derive_security_group,
    derive_security_group_rule,
    derive_subnet,
)


def fip(**fields: Any) -> dict[str, Any]:
    return {
        "id": "f-1",
        "project_id": "p",
        "floating_ip_address": "172.24.4.10",
        "port_id": None,
        "fixed_ip_address": None,
        "status": "DOWN",
    } | fields


def test_floating_ip_allocated_is_create_end_with_its_address() -> None:
    (event,) = derive_floating_ip(Change("insert", fip()))
    assert event.event_type == "floatingip.create.end"
    assert event.payload["floating_ip_address"] == "172.24.4.10"


def test_floating_ip_association_is_an_update() -> None:
    values = fip(port_id="port-1", fixed_ip_address="10.0.0.5", status="ACTIVE")
    change = Change("update", values, {"port_id": None, "status": "DOWN"})
    assert derive_floating_ip(change) == [
        Emit(
            "floatingip.update",
            {"port_id": "port-1", "fixed_ip_address": "10.0.0.5", "status": "ACTIVE"},
        )
    ]


def test_floating_ip_released_is_delete_end() -> None:
    assert derive_floating_ip(Change("delete", fip())) == [Emit("floatingip.delete.end", {})]


def test_floating_ip_other_change_says_nothing() -> None:
    assert derive_floating_ip(Change("update", fip(description="x"), {"description": None})) == []


@pytest.mark.parametrize(
    "derive,prefix",
    [
        (derive_network, "network"),
        (derive_subnet, "subnet"),
        (derive_port, "port"),
        (derive_security_group, "security_group"),
        (derive_security_group_rule, "security_group_rule"),
    ],
)
def test_generic_life_cycle(derive: Derivation, prefix: str) -> None:
    values = {"id": "x", "project_id": "p", "status": "BUILD"}
    assert derive(Change("insert", values)) == [Emit(f"{prefix}.create.end", {"status": "BUILD"})]
    active = Change("update", values | {"status": "ACTIVE"}, {"status": "BUILD"})
    assert derive(active) == [Emit(f"{prefix}.update", {"status": "ACTIVE"})]
    assert derive(Change("update", values | {"name": "n"}, {"name": ""})) == []
    assert derive(Change("delete", values)) == [Emit(f"{prefix}.delete.end", {})]


def test_rows_without_status_have_empty_payloads() -> None:
    assert derive_security_group(Change("insert", {"id": "g", "project_id": "p"})) == [
        Emit("security_group.create.end", {})
    ]

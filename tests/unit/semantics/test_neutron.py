"""Security group rule normalisation and validation (reference/openstack.md 4.2), pure."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stackgate.semantics.neutron import (
    InvalidRule,
    Rule,
    default_group_rules,
    egress_defaults,
    normalise,
    renormalise,
    rule_key,
)

GID = "11111111-1111-1111-1111-111111111111"

# (request fields, the expected normal form as a dict of the fields that differ from defaults)
ACCEPTED: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"direction": "ingress"}, {"direction": "ingress", "ethertype": "IPv4"}),
    ({"direction": "EGRESS"}, {"direction": "egress"}),
    ({"direction": "ingress", "ethertype": "ipv6"}, {"ethertype": "IPv6"}),
    # protocols: names, numbers, any
    ({"direction": "ingress", "protocol": "TCP"}, {"protocol": "tcp"}),
    ({"direction": "ingress", "protocol": "any"}, {"protocol": None}),
    ({"direction": "ingress", "protocol": ""}, {"protocol": None}),
    ({"direction": "ingress", "protocol": 6}, {"protocol": "tcp"}),
    ({"direction": "ingress", "protocol": "17"}, {"protocol": "udp"}),
    ({"direction": "ingress", "protocol": "1"}, {"protocol": "icmp"}),
    ({"direction": "ingress", "protocol": 0}, {"protocol": "0"}),
    ({"direction": "ingress", "protocol": 255}, {"protocol": "255"}),
    ({"direction": "ingress", "protocol": "gre"}, {"protocol": "gre"}),
    ({"direction": "ingress", "protocol": 47}, {"protocol": "gre"}),
    # legacy IPv6 ICMP names become ipv6-icmp
    (
        {"direction": "ingress", "ethertype": "IPv6", "protocol": "icmpv6"},
        {"protocol": "ipv6-icmp"},
    ),
    ({"direction": "ingress", "ethertype": "IPv6", "protocol": "icmp"}, {"protocol": "ipv6-icmp"}),
    ({"direction": "ingress", "ethertype": "IPv6", "protocol": 58}, {"protocol": "ipv6-icmp"}),
    # tcp/udp port ranges
    (
        {"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22},
        {"port_range_min": 22, "port_range_max": 22},
    ),
    (
        {"direction": "ingress", "protocol": "udp", "port_range_min": 1, "port_range_max": 65535},
        {"port_range_min": None, "port_range_max": None},
    ),
    (
        {"direction": "ingress", "protocol": "tcp", "port_range_min": 1, "port_range_max": 1024},
        {"port_range_min": 1, "port_range_max": 1024},
    ),
    ({"direction": "ingress", "protocol": "tcp"}, {"port_range_min": None}),
    # icmp type/code
    (
        {"direction": "ingress", "protocol": "icmp", "port_range_min": 8, "port_range_max": 0},
        {"port_range_min": 8, "port_range_max": 0},
    ),
    ({"direction": "ingress", "protocol": "icmp", "port_range_min": 8}, {"port_range_min": 8}),
    (
        {"direction": "ingress", "protocol": "icmp", "port_range_min": 0, "port_range_max": 255},
        {"port_range_min": 0, "port_range_max": 255},
    ),
    # remote prefixes: CIDR form, host bits masked
    ({"direction": "ingress", "remote_ip_prefix": "10.0.0.5"}, {"remote_ip_prefix": "10.0.0.5/32"}),
    (
        {"direction": "ingress", "remote_ip_prefix": "10.0.0.5/24"},
        {"remote_ip_prefix": "10.0.0.0/24"},
    ),
    ({"direction": "ingress", "remote_ip_prefix": "0.0.0.0/0"}, {"remote_ip_prefix": "0.0.0.0/0"}),
    (
        {"direction": "ingress", "ethertype": "IPv6", "remote_ip_prefix": "2001:DB8::1"},
        {"remote_ip_prefix": "2001:db8::1/128"},
    ),
    (
        {"direction": "ingress", "ethertype": "IPv6", "remote_ip_prefix": "2001:db8::1/64"},
        {"remote_ip_prefix": "2001:db8::/64"},
    ),
    ({"direction": "ingress", "remote_group_id": GID}, {"remote_group_id": GID}),
]

# (request fields, the field the error must name, a fragment of its message)
REFUSED: list[tuple[dict[str, Any], str, str]] = [
    ({"direction": None}, "direction", "required"),
    ({"direction": "sideways"}, "direction", "ingress, egress"),
    ({"direction": "ingress", "ethertype": "IPv5"}, "ethertype", "IPv4, IPv6"),
    ({"direction": "ingress", "protocol": "tcpp"}, "protocol", "not a protocol"),
    ({"direction": "ingress", "protocol": 256}, "protocol", "0-255"),
    ({"direction": "ingress", "protocol": "-1"}, "protocol", "not a protocol"),
    ({"direction": "ingress", "protocol": True}, "protocol", "number"),
    # ports without a protocol
    (
        {"direction": "ingress", "port_range_min": 22, "port_range_max": 22},
        "port_range_min",
        "needs a protocol",
    ),
    ({"direction": "ingress", "port_range_max": 22}, "port_range_max", "needs a protocol"),
    # tcp/udp: both set, 1..65535, min <= max
    ({"direction": "ingress", "protocol": "tcp", "port_range_min": 22}, "port_range_max", "both"),
    ({"direction": "ingress", "protocol": "udp", "port_range_max": 22}, "port_range_min", "both"),
    (
        {"direction": "ingress", "protocol": "tcp", "port_range_min": 0, "port_range_max": 10},
        "port_range_min",
        "1-65535",
    ),
    (
        {"direction": "ingress", "protocol": "tcp", "port_range_min": 1, "port_range_max": 65536},
        "port_range_max",
        "1-65535",
    ),
    (
        {"direction": "ingress", "protocol": "tcp", "port_range_min": 100, "port_range_max": 99},
        "port_range_min",
        "greater than",
    ),
    # icmp: type/code 0..255, no code without type
    (
        {"direction": "ingress", "protocol": "icmp", "port_range_min": 256},
        "port_range_min",
        "0-255",
    ),
    (
        {"direction": "ingress", "protocol": "icmp", "port_range_min": 8, "port_range_max": 256},
        "port_range_max",
        "0-255",
    ),
    ({"direction": "ingress", "protocol": "icmp", "port_range_max": 0}, "port_range_max", "type"),
    ({"direction": "ingress", "protocol": "icmp", "port_range_min": -1}, "port_range_min", "0-255"),
    # other protocols: no ports
    (
        {"direction": "ingress", "protocol": "gre", "port_range_min": 1},
        "port_range_min",
        "no ports",
    ),
    ({"direction": "ingress", "protocol": 112, "port_range_max": 1}, "port_range_max", "no ports"),
    # IPv6-only protocols with IPv4
    ({"direction": "ingress", "protocol": "ipv6-icmp"}, "protocol", "IPv6 protocol"),
    ({"direction": "ingress", "protocol": "icmpv6"}, "protocol", "IPv6 protocol"),
    ({"direction": "ingress", "protocol": 58}, "protocol", "IPv6 protocol"),
    # remote prefix: valid CIDR, version matching the ethertype
    (
        {"direction": "ingress", "remote_ip_prefix": "10.0.0.300/24"},
        "remote_ip_prefix",
        "not an IP",
    ),
    ({"direction": "ingress", "remote_ip_prefix": "10.0.0.0/33"}, "remote_ip_prefix", "not an IP"),
    ({"direction": "ingress", "remote_ip_prefix": "banana"}, "remote_ip_prefix", "not an IP"),
    ({"direction": "ingress", "remote_ip_prefix": "::/0"}, "remote_ip_prefix", "IPv6 prefix"),
    (
        {"direction": "ingress", "ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"},
        "remote_ip_prefix",
        "IPv4 prefix",
    ),
    # only one kind of remote
    (
        {"direction": "ingress", "remote_ip_prefix": "10.0.0.0/8", "remote_group_id": GID},
        "remote_group_id",
        "only one",
    ),
]


@pytest.mark.parametrize(("fields", "expected"), ACCEPTED)
def test_accepted_rules_are_normalised(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    rule = normalise(**fields)
    for name, value in expected.items():
        assert getattr(rule, name) == value, name


@pytest.mark.parametrize(("fields", "field", "fragment"), REFUSED)
def test_invalid_rules_name_the_field(fields: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(InvalidRule) as caught:
        normalise(**fields)
    assert caught.value.field == field
    assert caught.value.extra["field"] == field
    assert fragment in caught.value.detail
    assert caught.value.detail.startswith(f"{field}: ")


def test_spellings_of_one_rule_share_a_key() -> None:
    spellings = [
        normalise(direction="ingress", protocol="tcp", port_range_min=1, port_range_max=65535),
        normalise(direction="INGRESS", ethertype="ipv4", protocol=6),
        normalise(direction="ingress", protocol="TCP"),
    ]
    assert len({r.key for r in spellings}) == 1
    host = normalise(direction="ingress", remote_ip_prefix="10.0.0.5")
    assert host.key == normalise(direction="ingress", remote_ip_prefix="10.0.0.5/32").key


def test_anywhere_prefix_is_no_prefix_in_the_key() -> None:
    """Neutron's duplicate check treats 0.0.0.0/0 and ::/0 as no remote prefix."""
    assert normalise(direction="egress", remote_ip_prefix="0.0.0.0/0").key == (
        normalise(direction="egress").key
    )
    v6 = normalise(direction="egress", ethertype="IPv6", remote_ip_prefix="::/0")
    assert v6.remote_ip_prefix == "::/0"
    assert v6.key == normalise(direction="egress", ethertype="IPv6").key


def test_different_rules_have_different_keys() -> None:
    base: dict[str, Any] = {
        "direction": "ingress",
        "protocol": "tcp",
        "port_range_min": 22,
        "port_range_max": 22,
    }
    keys = {
        normalise(**base).key,
        normalise(**{**base, "direction": "egress"}).key,
        normalise(**{**base, "port_range_max": 23}).key,
        normalise(**{**base, "remote_ip_prefix": "10.0.0.0/8"}).key,
        normalise(**{**base, "remote_group_id": GID}).key,
        normalise(**{**base, "protocol": "udp"}).key,
    }
    assert len(keys) == 6


def test_key_shape() -> None:
    rule = Rule(direction="egress", ethertype="IPv6")
    assert rule_key(rule) == "egress|IPv6|*|*|*|*|*"
    full = normalise(
        direction="ingress",
        protocol="tcp",
        port_range_min=22,
        port_range_max=22,
        remote_ip_prefix="192.168.0.0/16",
    )
    assert full.key == "ingress|IPv4|tcp|22|22|192.168.0.0/16|*"
    long = Rule("ingress", "IPv6", "ipv6-route", None, None, "ffff:" * 7 + "ffff/128", None)
    assert len(long.key) < 255


def test_starting_rules() -> None:
    assert [(r.direction, r.ethertype) for r in egress_defaults()] == [
        ("egress", "IPv4"),
        ("egress", "IPv6"),
    ]
    rules = default_group_rules(GID)
    assert len(rules) == 4
    assert {r.key for r in rules[2:]} == {f"ingress|{e}|*|*|*|*|{GID}" for e in ("IPv4", "IPv6")}


# Hypothesis: whatever normalise accepts, normalising again changes nothing.
_prefixes = st.one_of(
    st.none(),
    st.ip_addresses(v=4).map(str),
    st.tuples(st.ip_addresses(v=4), st.integers(0, 32)).map(lambda t: f"{t[0]}/{t[1]}"),
    st.tuples(st.ip_addresses(v=6), st.integers(0, 128)).map(lambda t: f"{t[0]}/{t[1]}"),
)
_ports = st.one_of(st.none(), st.integers(-2, 65537))
_protocols = st.one_of(
    st.none(),
    st.sampled_from(["tcp", "udp", "icmp", "icmpv6", "ipv6-icmp", "any", "gre", "sctp", "TCP"]),
    st.integers(0, 300),
)


@given(
    direction=st.sampled_from(["ingress", "egress", "Ingress"]),
    ethertype=st.sampled_from([None, "IPv4", "IPv6", "ipv6"]),
    protocol=_protocols,
    low=_ports,
    high=_ports,
    prefix=_prefixes,
    group=st.one_of(st.none(), st.just(GID)),
)
def test_normalise_is_idempotent(
    direction: str,
    ethertype: str | None,
    protocol: str | int | None,
    low: int | None,
    high: int | None,
    prefix: str | None,
    group: str | None,
) -> None:
    try:
        rule = normalise(
            direction=direction,
            ethertype=ethertype,
            protocol=protocol,
            port_range_min=low,
            port_range_max=high,
            remote_ip_prefix=prefix,
            remote_group_id=group,
        )
    except InvalidRule:
        return
    assert renormalise(rule) == rule
    assert renormalise(rule).key == rule.key
    assert len(rule.key) <= 255

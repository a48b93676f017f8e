"""Neutron's security group rules, normalised and validated as Neutron does
(reference/openstack.md 4.2, neutron/db/securitygroups_db.py), their key, and the rules a new
group starts with. Pure: the control plane and the simulator both read these.

Normal form, so two spellings of one rule get one `rule_key` (the duplicate check):
- protocol: lower case; `any`/`""`/None -> None (any); the numbers of named protocols become
  the name (6 -> tcp, 17 -> udp, 1 -> icmp, 58 -> ipv6-icmp, 132 -> sctp); the legacy IPv6 ICMP
  names (`icmpv6`, and `icmp` on an IPv6 rule) become `ipv6-icmp`;
- ports: tcp/udp/sctp 1-65535 (every port) is stored as None/None;
- remote_ip_prefix: CIDR form; a bare address gets /32 or /128; host bits are MASKED
  (10.0.0.5/24 -> 10.0.0.0/24), which is what Neutron enforces (its `normalized_cidr`);
  0.0.0.0/0 and ::/0 are stored as given (a user who wrote them sees them back), but they mean
  "anywhere", like no prefix, so the key treats them as no prefix: Neutron's duplicate check
  does the same, so a rule with 0.0.0.0/0 next to the same rule without a prefix is a 409.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


class InvalidRule(ValueError):
    """A rule Neutron would refuse; `field` names the request field at fault."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.reason = detail
        self.detail = f"{field}: {detail}"
        self.extra = {"field": field}


DIRECTIONS = ("ingress", "egress")
ETHERTYPES = ("IPv4", "IPv6")
# Protocols with port ranges (Neutron: tcp, udp, sctp, dccp, udplite).
PORT_PROTOCOLS = frozenset({"tcp", "udp", "sctp", "dccp", "udplite"})
ICMP_PROTOCOLS = frozenset({"icmp", "ipv6-icmp"})
IPV6_ONLY = frozenset({"ipv6-icmp", "ipv6-encap", "ipv6-frag", "ipv6-nonxt", "ipv6-opts",
                       "ipv6-route"})  # fmt: skip
# Names Neutron accepts (neutron_lib.constants IP_PROTOCOL_MAP) and their numbers.
PROTOCOL_NUMBERS: dict[str, int] = {
    "ah": 51,
    "dccp": 33,
    "egp": 8,
    "esp": 50,
    "gre": 47,
    "icmp": 1,
    "igmp": 2,
    "ipip": 4,
    "ipv6-encap": 41,
    "ipv6-frag": 44,
    "ipv6-icmp": 58,
    "ipv6-nonxt": 59,
    "ipv6-opts": 60,
    "ipv6-route": 43,
    "ospf": 89,
    "pgm": 113,
    "rsvp": 46,
    "sctp": 132,
    "tcp": 6,
    "udp": 17,
    "udplite": 136,
    "vrrp": 112,
}
_BY_NUMBER = {number: name for name, number in PROTOCOL_NUMBERS.items()}
_ANY = ("", "any")
ANY_PREFIX = ("0.0.0.0/0", "::/0")
MAX_PORT = 65535
MAX_ICMP = 255


@dataclass(frozen=True, slots=True)
class Rule:
    """A normalised rule: None means any."""

    direction: str
    ethertype: str = "IPv4"
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None

    @property
    def key(self) -> str:
        """The canonical string of the rule (unique per group in the database)."""
        return rule_key(self)


def rule_key(rule: Rule) -> str:
    """direction|ethertype|protocol|min|max|prefix|group, with `*` for any; fits 255 chars.

    Stored in the control plane's `rule_key` column: the format must not change."""
    prefix = None if rule.remote_ip_prefix in ANY_PREFIX else rule.remote_ip_prefix
    parts = (
        rule.direction,
        rule.ethertype,
        rule.protocol,
        rule.port_range_min,
        rule.port_range_max,
        prefix,
        rule.remote_group_id,
    )
    return "|".join("*" if p is None else str(p) for p in parts)


def _direction(value: str | None) -> str:
    if value is None:
        raise InvalidRule("direction", "required; one of ingress, egress")
    lowered = value.strip().lower()
    if lowered not in DIRECTIONS:
        raise InvalidRule("direction", f"{value!r} is not one of ingress, egress")
    return lowered


def _ethertype(value: str | None) -> str:
    if value is None:
        return "IPv4"
    for name in ETHERTYPES:
        if value.strip().lower() == name.lower():
            return name
    raise InvalidRule("ethertype", f"{value!r} is not one of IPv4, IPv6")


def _protocol(value: str | int | None, ethertype: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidRule("protocol", "must be a protocol name or a number 0-255")
    text = str(value).strip().lower()
    if text in _ANY:
        return None
    if text.isdigit():
        number = int(text)
        if number > MAX_ICMP:
            raise InvalidRule("protocol", f"number {number} is not within 0-255")
        name: str = _BY_NUMBER.get(number, str(number))
    elif text == "icmpv6":
        name = "ipv6-icmp"
    elif text in PROTOCOL_NUMBERS:
        name = text
    else:
        raise InvalidRule(
            "protocol",
            f"{value!r} is not a protocol name ({', '.join(sorted(PROTOCOL_NUMBERS))}), "
            "'any' or a number 0-255",
        )
    if name == "icmp" and ethertype == "IPv6":
        return "ipv6-icmp"  # Neutron rewrites the legacy IPv6 ICMP spellings
    if name in IPV6_ONLY and ethertype == "IPv4":
        raise InvalidRule("protocol", f"{name} is an IPv6 protocol; the ethertype is IPv4")
    return name


def _ports(
    protocol: str | None, low: int | None, high: int | None
) -> tuple[int | None, int | None]:
    if low is None and high is None:
        return None, None
    if protocol is None:
        raise InvalidRule(
            "port_range_min" if low is not None else "port_range_max",
            "a port range needs a protocol (tcp, udp, sctp, icmp...)",
        )
    if protocol in PORT_PROTOCOLS:
        if low is None or high is None:
            missing = "port_range_min" if low is None else "port_range_max"
            raise InvalidRule(missing, f"{protocol} needs both port_range_min and port_range_max")
        for field, port in (("port_range_min", low), ("port_range_max", high)):
            if not 1 <= port <= MAX_PORT:
                raise InvalidRule(field, f"{port} is not a port within 1-{MAX_PORT}")
        if low > high:
            raise InvalidRule("port_range_min", f"{low} is greater than port_range_max {high}")
        if (low, high) == (1, MAX_PORT):
            return None, None  # every port: Neutron stores null/null
        return low, high
    if protocol in ICMP_PROTOCOLS:
        if low is None:
            raise InvalidRule("port_range_max", "an ICMP code needs an ICMP type (port_range_min)")
        for field, value, what in (
            ("port_range_min", low, "type"),
            ("port_range_max", high, "code"),
        ):
            if value is not None and not 0 <= value <= MAX_ICMP:
                raise InvalidRule(field, f"ICMP {what} {value} is not within 0-{MAX_ICMP}")
        return low, high
    raise InvalidRule(
        "port_range_min" if low is not None else "port_range_max",
        f"protocol {protocol} has no ports",
    )


def normalise_prefix(value: str, ethertype: str) -> str:
    """CIDR form with host bits masked; its IP version must match the ethertype."""
    text = value.strip()
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidRule("remote_ip_prefix", f"{value!r} is not an IP address or CIDR") from None
    version = "IPv4" if network.version == 4 else "IPv6"
    if version != ethertype:
        raise InvalidRule(
            "remote_ip_prefix", f"{network} is an {version} prefix but the ethertype is {ethertype}"
        )
    return str(network)


def normalise(
    *,
    direction: str | None,
    ethertype: str | None = None,
    protocol: str | int | None = None,
    port_range_min: int | None = None,
    port_range_max: int | None = None,
    remote_ip_prefix: str | None = None,
    remote_group_id: str | None = None,
) -> Rule:
    """Validate a rule as a request gives it and return its normal form (InvalidRule if not)."""
    direction_ = _direction(direction)
    ethertype_ = _ethertype(ethertype)
    protocol_ = _protocol(protocol, ethertype_)
    low, high = _ports(protocol_, port_range_min, port_range_max)
    if remote_ip_prefix is not None and remote_group_id is not None:
        raise InvalidRule(
            "remote_group_id", "give only one of remote_ip_prefix and remote_group_id"
        )
    prefix = None if remote_ip_prefix is None else normalise_prefix(remote_ip_prefix, ethertype_)
    return Rule(
        direction=direction_,
        ethertype=ethertype_,
        protocol=protocol_,
        port_range_min=low,
        port_range_max=high,
        remote_ip_prefix=prefix,
        remote_group_id=remote_group_id or None,
    )


def renormalise(rule: Rule) -> Rule:
    """normalise() applied to a Rule (it is idempotent: renormalise(r) == r for a normal r)."""
    return normalise(
        direction=rule.direction,
        ethertype=rule.ethertype,
        protocol=rule.protocol,
        port_range_min=rule.port_range_min,
        port_range_max=rule.port_range_max,
        remote_ip_prefix=rule.remote_ip_prefix,
        remote_group_id=rule.remote_group_id,
    )


# The group Neutron makes for each project on first need; no other group may take the name.
DEFAULT_GROUP_NAME = "default"
DEFAULT_GROUP_DESCRIPTION = "Default security group"


def egress_defaults() -> list[Rule]:
    """The 2 egress rules every new group starts with (any protocol, IPv4 and IPv6)."""
    return [Rule(direction="egress", ethertype=e) for e in ETHERTYPES]


def default_group_rules(group_id: str) -> list[Rule]:
    """The default group's 4 rules: egress any, and ingress from members of the group."""
    ingress = [Rule(direction="ingress", ethertype=e, remote_group_id=group_id) for e in ETHERTYPES]
    return egress_defaults() + ingress

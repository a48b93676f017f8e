"""IP address management rules, pure (no I/O): subnet defaults and checks as Neutron applies
them (neutron/ipam/utils.py, neutron/db/ipam_backend_mixin.py), and picking a free address.
The control plane plans its subnets with them and the simulator checks the ones it is given.

The database, not this module, guarantees an address is never handed out twice (the primary
key of ip_allocation); the caller locks the subnet row so concurrent picks serialise.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Collection
from dataclasses import dataclass


class _Refused(ValueError):
    """A refusal naming the request field at fault (`extra["field"]`)."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.reason = detail
        self.detail = f"{field}: {detail}"
        self.extra = {"field": field}


class InvalidSubnet(_Refused):
    """A CIDR, gateway or allocation pool that breaks Neutron's subnet rules."""


class InvalidAddress(_Refused):
    """Neutron's InvalidIpForSubnet: the address is not one the subnet can hand out."""


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Neutron's reference driver picks at random among up to this many free candidates.
WINDOW = 1000


@dataclass(frozen=True, slots=True)
class SubnetPlan:
    """A subnet's addressing, validated and with Neutron's defaults filled in."""

    cidr: str
    ip_version: int
    gateway_ip: str | None
    pool_start: str
    pool_end: str


def parse_cidr(cidr: str) -> IPNetwork:
    """A network in canonical form; host bits set is refused as Neutron refuses it."""
    try:
        loose = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError as exc:
        raise InvalidSubnet("cidr", f"{cidr!r} is not a valid CIDR") from exc
    if "/" not in cidr:
        raise InvalidSubnet("cidr", f"{cidr!r} needs a prefix length, e.g. {loose}")
    try:
        ipaddress.ip_network(cidr.strip(), strict=True)
    except ValueError as exc:
        raise InvalidSubnet("cidr", f"{cidr!r} has host bits set; use {loose}") from exc
    if loose.prefixlen == 0:
        raise InvalidSubnet("cidr", f"{cidr!r} covers every address; use a smaller network")
    return loose


def _address(value: str, field: str) -> IPAddress:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError as exc:
        raise InvalidSubnet(field, f"{value!r} is not an IP address") from exc


def _tiny(net: IPNetwork) -> bool:
    """IPv4 /31 and /32 (RFC 3021): no network or broadcast address, every address usable."""
    return net.version == 4 and net.prefixlen >= 31


def usable_range(net: IPNetwork) -> tuple[int, int]:
    """First and last address a host may get: without the network address (IPv6: the
    subnet-router anycast) and the IPv4 broadcast, except on /31 and /32."""
    first, last = int(net.network_address), int(net.broadcast_address)
    if _tiny(net):
        return first, last
    return first + 1, last - (1 if net.version == 4 else 0)


def default_pools(net: IPNetwork, gateway: str | None) -> list[tuple[int, int]]:
    """The usable range without the gateway, as Neutron computes it: one range, or two when
    the gateway lies inside it (either may be empty and is then left out)."""
    first, last = usable_range(net)
    if gateway is None:
        return [(first, last)] if first <= last else []
    g = int(ipaddress.ip_address(gateway))
    return [(a, b) for a, b in ((first, g - 1), (g + 1, last)) if a <= b]


def is_usable(net: IPNetwork, address: str) -> bool:
    """Inside the network and neither its network nor its IPv4 broadcast address."""
    try:
        value = ipaddress.ip_address(address)
    except ValueError:
        return False
    if value.version != net.version or value not in net:
        return False
    first, last = usable_range(net)
    return first <= int(value) <= last


def default_gateway(net: IPNetwork) -> str | None:
    """The first usable address; none on a /31 or /32, whose addresses are all for hosts."""
    if _tiny(net):
        return None
    return str(ipaddress.ip_address(int(net.network_address) + 1))


def plan_subnet(
    cidr: str,
    *,
    gateway_ip: str | None = None,
    no_gateway: bool = False,
    pool: tuple[str, str] | None = None,
) -> SubnetPlan:
    """Validate a subnet request and fill in Neutron's defaults: gateway = first address, pool
    = the CIDR minus network, broadcast and gateway (every address on /31 and /32)."""
    net = parse_cidr(cidr)
    first, last = usable_range(net)
    gateway: IPAddress | None = None
    if gateway_ip is not None and not no_gateway:
        gateway = _address(gateway_ip, "gateway_ip")
        if gateway.version != net.version or gateway not in net:
            raise InvalidSubnet("gateway_ip", f"{gateway} is not inside {net}")
        if not first <= int(gateway) <= last:
            raise InvalidSubnet(
                "gateway_ip", f"{gateway} is the network or broadcast address of {net}"
            )
    elif not no_gateway:
        default = default_gateway(net)
        gateway = ipaddress.ip_address(default) if default else None
    if pool is None:
        # The gateway is at an end of the range by default; elsewhere Neutron splits the pool
        # in two, and one pool is what the control plane holds: keep the larger side (the
        # lower one on a tie). /31 and /32 hand out every address, the gateway's too.
        pools = default_pools(net, None if gateway is None or _tiny(net) else str(gateway))
        if not pools:
            raise InvalidSubnet("cidr", f"{net} leaves no address for hosts")
        start, end = max(pools, key=lambda r: (r[1] - r[0], -r[0]))
    else:
        lo = _address(pool[0], "allocation_pool.start")
        hi = _address(pool[1], "allocation_pool.end")
        for name, value in (("start", lo), ("end", hi)):
            if value.version != net.version or not first <= int(value) <= last:
                raise InvalidSubnet(
                    f"allocation_pool.{name}",
                    f"{value} is outside the usable addresses of {net}",
                )
        start, end = int(lo), int(hi)
        if start > end:
            raise InvalidSubnet("allocation_pool", f"start {lo} is after end {hi}")
        if gateway is not None and start <= int(gateway) <= end:
            raise InvalidSubnet(
                "allocation_pool", f"the pool {lo}-{hi} contains the gateway {gateway}"
            )
    as_ip = ipaddress.ip_address
    return SubnetPlan(
        cidr=str(net),
        ip_version=net.version,
        gateway_ip=None if gateway is None else str(gateway),
        pool_start=str(as_ip(start)),
        pool_end=str(as_ip(end)),
    )


def overlaps(cidr: str, other: str) -> bool:
    a, b = ipaddress.ip_network(cidr), ipaddress.ip_network(other)
    return a.version == b.version and a.overlaps(b)


def pool_size(pool_start: str, pool_end: str) -> int:
    return int(ipaddress.ip_address(pool_end)) - int(ipaddress.ip_address(pool_start)) + 1


def check_requested(
    address: str, *, cidr: str, gateway_ip: str | None, field: str = "fixed_ips"
) -> str:
    """An address a caller asks for, canonical; it must be a host address of the subnet
    (Neutron's InvalidIpForSubnet, 400 there, 422 here). It may lie outside the pool."""
    try:
        value = ipaddress.ip_address(address.strip())
    except ValueError as exc:
        raise InvalidAddress(field, f"{address!r} is not an IP address") from exc
    net = ipaddress.ip_network(cidr)
    if value.version != net.version or value not in net:
        raise InvalidAddress(field, f"{value} is not inside the subnet {net}")
    first, last = usable_range(net)
    if not first <= int(value) <= last:
        raise InvalidAddress(field, f"{value} is the network or broadcast address of {net}")
    if gateway_ip is not None and value == ipaddress.ip_address(gateway_ip):
        raise InvalidAddress(field, f"{value} is the subnet's gateway")
    return str(value)


def pick_free(
    pool_start: str,
    pool_end: str,
    used: Collection[str],
    *,
    gateway_ip: str | None = None,
    rng: random.Random | None = None,
) -> str | None:
    """A free address of the pool, chosen at random among the first WINDOW free ones (as
    Neutron's reference IPAM); None when every address is taken."""
    taken = {int(ipaddress.ip_address(a)) for a in used}
    if gateway_ip is not None:
        taken.add(int(ipaddress.ip_address(gateway_ip)))
    lo, hi = int(ipaddress.ip_address(pool_start)), int(ipaddress.ip_address(pool_end))
    candidates: list[int] = []
    value = lo
    while value <= hi and len(candidates) < WINDOW:
        if value not in taken:
            candidates.append(value)
        value += 1
    if not candidates:
        return None
    chosen = (rng or random).choice(candidates)
    return str(ipaddress.ip_address(chosen))

"""Fixed IPs as Neutron's IPAM hands them out: the legacy tenant range of servers booted
without ports, and the subnets of the simulated Neutron."""

from __future__ import annotations

import ipaddress
import random

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.providers.base import ProviderBadRequest, ProviderConflict, ProviderUnavailable
from stackgate.providers.simulator.tables import SimIPAllocation, SimServer, SimSubnet
from stackgate.semantics import ipam as subnet_math

SUBNET = ipaddress.IPv4Network("10.0.0.0/16")
GATEWAY = SUBNET.network_address + 1
# The allocation pool leaves out the network address, the gateway and the broadcast address.
_FIRST = int(SUBNET.network_address) + 2
_LAST = int(SUBNET.broadcast_address) - 1
_RANDOM_TRIES = 16
_ADDRESS_TRIES = 8


async def _taken(session: AsyncSession, address: str) -> bool:
    stmt = select(SimServer.id).where(SimServer.ip_address == address).limit(1)
    return (await session.scalar(stmt)) is not None


async def pick_address(session: AsyncSession, rng: random.Random) -> str | None:
    """A free address, random like Neutron's reference IPAM; None when the pool is exhausted."""
    # The unique key on sim_server.ip_address is what guarantees no duplicate: the caller
    # retries with another pick if its insert loses a race.
    for _ in range(_RANDOM_TRIES):
        candidate = str(ipaddress.IPv4Address(rng.randint(_FIRST, _LAST)))
        if not await _taken(session, candidate):
            return candidate
    stmt = select(SimServer.ip_address).where(SimServer.ip_address.is_not(None))
    used = {int(ipaddress.IPv4Address(a)) for a in (await session.scalars(stmt)).all() if a}
    for value in range(_FIRST, _LAST + 1):
        if value not in used:
            return str(ipaddress.IPv4Address(value))
    return None


# Subnets of the simulated Neutron: fixed IPs of ports and floating IPs.


def parse_cidr(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The network of a CIDR, or Neutron's 400 for a malformed one (host bits must be zero)."""
    try:
        return ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        raise ProviderBadRequest(
            f"Invalid input for cidr. Reason: '{cidr}' is not a valid IP subnet.", status_code=400
        ) from exc


def default_pools(
    net: ipaddress.IPv4Network | ipaddress.IPv6Network, gateway: str | None
) -> list[list[str]]:
    """The whole usable range without the gateway, as Neutron computes it."""
    return [
        [str(ipaddress.ip_address(a)), str(ipaddress.ip_address(b))]
        for a, b in subnet_math.default_pools(net, gateway)
    ]


usable_range = subnet_math.usable_range
is_usable = subnet_math.is_usable


def is_valid_for_subnet(subnet: SimSubnet, address: str) -> bool:
    return is_usable(ipaddress.ip_network(subnet.cidr), address)


async def _used(session: AsyncSession, subnet_id: str) -> set[int]:
    stmt = select(SimIPAllocation.ip_address).where(SimIPAllocation.subnet_id == subnet_id)
    return {int(ipaddress.ip_address(a)) for a in (await session.scalars(stmt)).all()}


async def _insert(session: AsyncSession, row: SimIPAllocation) -> bool:
    """Add an allocation; False when another transaction took the address first."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
        return True
    except IntegrityError:
        return False


async def claim(
    session: AsyncSession,
    subnet: SimSubnet,
    address: str,
    *,
    port_id: str | None = None,
    floating_ip_id: str | None = None,
) -> str:
    """Take an address that was asked for: inside the subnet and free, else 400/409."""
    if not is_valid_for_subnet(subnet, address):
        raise ProviderBadRequest(
            f"IP address {address} is not a valid IP for the specified subnet.", status_code=400
        )
    address = str(ipaddress.ip_address(address))
    taken = ProviderConflict(
        f"IP address {address} already allocated in subnet {subnet.id}", status_code=409
    )
    if address == subnet.gateway_ip:
        raise taken
    row = SimIPAllocation(
        subnet_id=subnet.id,
        ip_address=address,
        network_id=subnet.network_id,
        port_id=port_id,
        floating_ip_id=floating_ip_id,
    )
    if await session.get(SimIPAllocation, (subnet.id, address)) is not None:
        raise taken
    if not await _insert(session, row):
        raise taken
    return address


async def allocate(
    session: AsyncSession,
    subnet: SimSubnet,
    rng: random.Random,
    *,
    port_id: str | None = None,
    floating_ip_id: str | None = None,
) -> str | None:
    """A free address of the subnet's pools, random like Neutron's IPAM; None when none is."""
    pools = [(int(ipaddress.ip_address(a)), int(ipaddress.ip_address(b))) for a, b in subnet.pools]
    size = sum(b - a + 1 for a, b in pools)
    for _ in range(_ADDRESS_TRIES):
        used = await _used(session, subnet.id)
        candidate = _pick(pools, size, used, rng)
        if candidate is None:
            return None
        address = str(ipaddress.ip_address(candidate))
        row = SimIPAllocation(
            subnet_id=subnet.id,
            ip_address=address,
            network_id=subnet.network_id,
            port_id=port_id,
            floating_ip_id=floating_ip_id,
        )
        if await _insert(session, row):
            return address
    raise ProviderUnavailable("Simulated IP allocation kept colliding", status_code=503)


def _pick(
    pools: list[tuple[int, int]], size: int, used: set[int], rng: random.Random
) -> int | None:
    if size <= 0:
        return None
    for _ in range(_RANDOM_TRIES):
        offset = rng.randrange(size)
        for first, last in pools:
            if offset <= last - first:
                if first + offset not in used:
                    return first + offset
                break
            offset -= last - first + 1
    for first, last in pools:
        for value in range(first, last + 1):
            if value not in used:
                return value
    return None


async def release(
    session: AsyncSession, *, port_id: str | None = None, floating_ip_id: str | None = None
) -> None:
    """Free the addresses a port or a floating IP holds."""
    stmt = delete(SimIPAllocation)
    if port_id is not None:
        stmt = stmt.where(SimIPAllocation.port_id == port_id)
    elif floating_ip_id is not None:
        stmt = stmt.where(SimIPAllocation.floating_ip_id == floating_ip_id)
    else:
        return
    await session.execute(stmt)

"""Fixed IPs from the simulated tenant subnet, as Neutron's IPAM hands them out."""

from __future__ import annotations

import ipaddress
import random

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.providers.simulator.tables import SimServer

SUBNET = ipaddress.IPv4Network("10.0.0.0/16")
GATEWAY = SUBNET.network_address + 1
# The allocation pool leaves out the network address, the gateway and the broadcast address.
_FIRST = int(SUBNET.network_address) + 2
_LAST = int(SUBNET.broadcast_address) - 1
_RANDOM_TRIES = 16


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

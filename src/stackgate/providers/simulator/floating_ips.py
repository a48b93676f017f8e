"""Floating IPs as Neutron's L3 plugin keeps them (neutron/db/l3_db.py, reference 4.3).

Allocated from an external network's subnet, DOWN until associated with a port's fixed IP,
ACTIVE while associated; one floating IP per fixed IP. There are no routers in the
simulator, so the external-gateway check of a real association is not modelled.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.ids import new_id
from stackgate.providers.network import FloatingIPSpec, ProviderFloatingIP
from stackgate.providers.simulator import ipam
from stackgate.providers.simulator.env import SimEnv
from stackgate.providers.simulator.netcommon import (
    ACTIVE,
    DOWN,
    bad_request,
    conflict,
    has_tags,
    ip_dto,
    not_found,
)
from stackgate.providers.simulator.tables import SimFloatingIP, SimNetwork, SimPort, SimSubnet


async def disassociate_port(session: AsyncSession, port_id: str) -> None:
    """What Neutron does to a deleted port's floating IPs: they stay allocated, DOWN."""
    await session.execute(
        sql_update(SimFloatingIP)
        .where(SimFloatingIP.port_id == port_id)
        .values(port_id=None, fixed_ip_address=None, status=DOWN)
    )


async def create(env: SimEnv, spec: FloatingIPSpec) -> ProviderFloatingIP:
    async def work(session: AsyncSession) -> ProviderFloatingIP:
        network = await session.get(SimNetwork, spec.floating_network_id, with_for_update=True)
        if network is None:
            raise not_found("Network", spec.floating_network_id)
        if not network.external:
            raise bad_request(
                f"Bad floatingip request: Network {network.id} is not a valid external network."
            )
        stmt = (
            select(SimSubnet)
            .where(SimSubnet.network_id == network.id, SimSubnet.ip_version == 4)
            .order_by(SimSubnet.created_at, SimSubnet.id)
        )
        subnets = list((await session.scalars(stmt)).all())
        if not subnets:
            raise bad_request(
                f"Bad floatingip request: Network {network.id} does not contain any IPv4 subnet."
            )
        fip_id = new_id()
        wanted = spec.floating_ip_address
        subnet: SimSubnet | None = None
        address: str | None = None
        if wanted is not None:
            subnet = next((s for s in subnets if ipam.is_valid_for_subnet(s, wanted)), None)
            if subnet is None:
                raise bad_request(
                    f"Bad floatingip request: IP address {wanted} is not a valid IP for the "
                    f"network {network.id}."
                )
            address = await ipam.claim(session, subnet, wanted, floating_ip_id=fip_id)
        else:
            for subnet in subnets:
                address = await ipam.allocate(session, subnet, env.net_rng, floating_ip_id=fip_id)
                if address is not None:
                    break
        if subnet is None or address is None:
            raise bad_request(f"Unable to find any IP address on external network {network.id}.")
        fip = SimFloatingIP(
            id=fip_id,
            address=address,
            network_id=network.id,
            subnet_id=subnet.id,
            project_id=spec.project_id,
            status=DOWN,
            port_id=None,
            fixed_ip_address=None,
            tags=list(spec.tags),
            created_at=env.clock.now(),
        )
        session.add(fip)
        await session.flush()
        return ip_dto(fip)

    return await env.store.run(work, write=True)


async def get(env: SimEnv, floating_ip_id: str) -> ProviderFloatingIP:
    async def work(session: AsyncSession) -> ProviderFloatingIP:
        fip = await session.get(SimFloatingIP, floating_ip_id)
        if fip is None:
            raise not_found("Floating IP", floating_ip_id)
        return ip_dto(fip)

    return await env.store.run(work)


async def listing(env: SimEnv, tags: tuple[str, ...]) -> list[ProviderFloatingIP]:
    async def work(session: AsyncSession) -> list[ProviderFloatingIP]:
        stmt = select(SimFloatingIP).order_by(SimFloatingIP.created_at, SimFloatingIP.id)
        return [ip_dto(f) for f in (await session.scalars(stmt)).all() if has_tags(f.tags, tags)]

    return await env.store.run(work)


def _fixed_address(fip: SimFloatingIP, port: SimPort, fixed_ip_address: str | None) -> str:
    """The port's fixed IP the floating IP maps to (Neutron's _get_assoc_data checks)."""
    if port.network_id == fip.network_id:
        raise bad_request(
            f"Bad floatingip request: Port {port.id} is on the external network {fip.network_id}."
        )
    v4 = [a for _, a in port.fixed_ips if ipaddress.ip_address(a).version == 4]
    if fixed_ip_address is not None:
        if fixed_ip_address not in [a for _, a in port.fixed_ips]:
            raise bad_request(
                f"Bad floatingip request: Port {port.id} does not have fixed ip {fixed_ip_address}."
            )
        return fixed_ip_address
    if not v4:
        raise bad_request(
            f"Bad floatingip request: Port {port.id} does not have any IPv4 fixed IP."
        )
    if len(v4) > 1:
        raise bad_request(
            f"Bad floatingip request: Port {port.id} has multiple fixed IPv4 addresses. Must "
            "provide a specific IPv4 address when assigning a floating IP."
        )
    return str(v4[0])


async def set_port(
    env: SimEnv, floating_ip_id: str, port_id: str | None, fixed_ip_address: str | None
) -> ProviderFloatingIP:
    async def work(session: AsyncSession) -> ProviderFloatingIP:
        # The port first, then the floating IP: the lock order of delete_port.
        port = None
        if port_id is not None:
            port = await session.get(SimPort, port_id, with_for_update=True)
            if port is None:
                raise not_found("Port", port_id)
        fip = await session.get(
            SimFloatingIP, floating_ip_id, with_for_update=True, populate_existing=True
        )
        if fip is None:
            raise not_found("Floating IP", floating_ip_id)
        if port is None:
            fip.port_id = fip.fixed_ip_address = None
            fip.status = DOWN
            await session.flush()
            return ip_dto(fip)
        fixed = _fixed_address(fip, port, fixed_ip_address)
        if (fip.port_id, fip.fixed_ip_address) == (port.id, fixed):
            return ip_dto(fip)
        taken = conflict(
            f"Cannot associate floating IP {fip.address} ({fip.id}) with port {port.id} using "
            f"fixed IP {fixed}, as that fixed IP already has a floating IP on external network "
            f"{fip.network_id}."
        )
        other = await session.scalar(
            select(SimFloatingIP.id).where(
                SimFloatingIP.port_id == port.id, SimFloatingIP.fixed_ip_address == fixed
            )
        )
        if other is not None:
            raise taken
        fip.port_id, fip.fixed_ip_address, fip.status = port.id, fixed, ACTIVE
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError as exc:
            raise taken from exc
        return ip_dto(fip)

    return await env.store.run(work, write=True)


async def delete(env: SimEnv, floating_ip_id: str) -> None:
    async def work(session: AsyncSession) -> None:
        fip = await session.get(SimFloatingIP, floating_ip_id, with_for_update=True)
        if fip is None:
            return
        await ipam.release(session, floating_ip_id=fip.id)
        await session.delete(fip)

    await env.store.run(work, write=True)

"""Ports of the simulated Neutron: fixed IPs from their subnets, a MAC, default groups."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.ids import new_id
from stackgate.providers.base import ProviderUnavailable
from stackgate.providers.network import PortSpec, ProviderPort
from stackgate.providers.simulator import ipam, security_groups
from stackgate.providers.simulator.env import SimEnv
from stackgate.providers.simulator.netcommon import DOWN, conflict, invalid_input, port_dto
from stackgate.providers.simulator.subnets import locked_network, subnets_of
from stackgate.providers.simulator.tables import SimPort

_MAC_TRIES = 8


def _mac(env: SimEnv) -> str:
    """Neutron's default base_mac fa:16:3e:00:00:00 with three random octets."""
    tail = ":".join(f"{env.net_rng.randrange(256):02x}" for _ in range(3))
    return f"fa:16:3e:{tail}"


async def create(env: SimEnv, spec: PortSpec) -> ProviderPort:
    """Explicit fixed IPs must be inside their subnet and free (409); without any, one
    address from the network's first IPv4 subnet. No groups means the project's default."""

    async def work(session: AsyncSession) -> ProviderPort:
        now = env.clock.now()
        network = await locked_network(session, spec.network_id)
        subnets = {s.id: s for s in await subnets_of(session, network.id)}
        group_ids = list(spec.security_group_ids)
        if not group_ids and not spec.device_owner.startswith("network:"):
            default = await security_groups.default_group(session, spec.project_id, now)
            group_ids = [default.id]
        await security_groups.existing_groups(session, group_ids, lock=True)
        port_id = new_id()
        fixed: list[list[str]] = []
        for wanted in spec.fixed_ips:
            subnet = subnets.get(wanted.subnet_id)
            if subnet is None:
                raise invalid_input(
                    f"Failed to create port on network {network.id}, because fixed_ips "
                    f"included invalid subnet {wanted.subnet_id}."
                )
            address = await ipam.claim(session, subnet, wanted.ip_address, port_id=port_id)
            fixed.append([subnet.id, address])
        if not spec.fixed_ips:
            v4 = [s for s in subnets.values() if s.ip_version == 4]
            if v4:
                picked = await ipam.allocate(session, v4[0], env.net_rng, port_id=port_id)
                if picked is None:
                    raise conflict(f"No more IP addresses available on network {network.id}.")
                fixed.append([v4[0].id, picked])
        port = SimPort(
            id=port_id,
            network_id=network.id,
            project_id=spec.project_id,
            name=spec.name,
            device_id=None,
            device_owner=spec.device_owner,
            status=DOWN,
            fixed_ips=fixed,
            security_group_ids=group_ids,
            tags=list(spec.tags),
            created_at=now,
        )
        for _ in range(_MAC_TRIES):
            port.mac_address = _mac(env)
            try:
                async with session.begin_nested():
                    session.add(port)
                    await session.flush()
                return port_dto(port)
            except IntegrityError:
                continue
        raise ProviderUnavailable("Simulated MAC allocation kept colliding", status_code=503)

    return await env.store.run(work, write=True)

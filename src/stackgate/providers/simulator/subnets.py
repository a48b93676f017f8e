"""Subnets of the simulated Neutron: validation, and the seeded `public` network."""

from __future__ import annotations

import ipaddress
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.ids import stable_id
from stackgate.providers.network import SubnetSpec
from stackgate.providers.simulator import ipam
from stackgate.providers.simulator.netcommon import bad_request, conflict, invalid_input, not_found
from stackgate.providers.simulator.tables import SimBase, SimNetwork, SimSubnet
from stackgate.semantics import devstack

# The cloud's own ids for DevStack's `public` network: not the control plane's ids.
SIM_PUBLIC_NETWORK_ID = stable_id("simulator/network/public")
SIM_PUBLIC_SUBNET_ID = stable_id("simulator/subnet/public-subnet")


def seed_rows(now: datetime) -> list[SimBase]:
    """The shared external network every DevStack cloud starts with, and its subnet."""
    network = SimNetwork(
        id=SIM_PUBLIC_NETWORK_ID,
        name=devstack.PUBLIC_NETWORK_NAME,
        project_id=None,
        shared=True,
        external=True,
        status="ACTIVE",
        tags=[],
        created_at=now,
    )
    subnet = SimSubnet(
        id=SIM_PUBLIC_SUBNET_ID,
        network_id=SIM_PUBLIC_NETWORK_ID,
        name=devstack.PUBLIC_SUBNET_NAME,
        project_id=None,
        cidr=devstack.PUBLIC_CIDR,
        ip_version=4,
        gateway_ip=devstack.PUBLIC_GATEWAY,
        pools=[list(devstack.PUBLIC_POOL)],
        enable_dhcp=False,
        tags=[],
        created_at=now,
    )
    return [network, subnet]


async def locked_network(session: AsyncSession, network_id: str) -> SimNetwork:
    network = await session.get(SimNetwork, network_id, with_for_update=True)
    if network is None:
        raise not_found("Network", network_id)
    return network


async def subnets_of(session: AsyncSession, network_id: str) -> list[SimSubnet]:
    stmt = (
        select(SimSubnet)
        .where(SimSubnet.network_id == network_id)
        .order_by(SimSubnet.created_at, SimSubnet.id)
    )
    return list((await session.scalars(stmt)).all())


def check_subnet(spec: SubnetSpec, others: list[SimSubnet]) -> list[list[str]]:
    """Neutron's subnet validation; returns the allocation pools to store."""
    net = ipam.parse_cidr(spec.cidr)
    if net.version != spec.ip_version:
        raise invalid_input(f"Cidr {spec.cidr} does not match the ip_version {spec.ip_version}")
    first, last = ipam.usable_range(net)

    def inside(address: str) -> int:
        try:
            value = ipaddress.ip_address(address)
        except ValueError as exc:
            raise bad_request(f"'{address}' is not a valid IP address") from exc
        if value.version != net.version or not first <= int(value) <= last:
            raise invalid_input(f"IP address {address} is not within subnet {spec.cidr}.")
        return int(value)

    if spec.gateway_ip is not None and not ipam.is_usable(net, spec.gateway_ip):
        raise invalid_input(f"Gateway is not valid on subnet {spec.cidr}.")
    pools = [list(p) for p in spec.allocation_pools] or ipam.default_pools(net, spec.gateway_ip)
    for start, end in pools:
        low, high = inside(start), inside(end)
        if low > high:
            raise bad_request(f"The allocation pool {start}-{end} spans beyond the subnet cidr.")
        gateway = spec.gateway_ip
        if gateway is not None and low <= int(ipaddress.ip_address(gateway)) <= high:
            raise conflict(f"Gateway ip {gateway} conflicts with allocation pool {start}-{end}")
    for other in others:
        if ipaddress.ip_network(other.cidr).overlaps(net):
            raise invalid_input(
                f"Requested subnet with cidr: {spec.cidr} for network: {spec.network_id} "
                "overlaps with another subnet."
            )
    return pools

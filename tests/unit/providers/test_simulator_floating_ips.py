"""Floating IPs in the simulator: allocation from the external pool, association, release."""

from __future__ import annotations

import re

import pytest
from sim_builders import private_network

from stackgate.providers.base import ProviderBadRequest, ProviderConflict, ProviderNotFound
from stackgate.providers.network import (
    FixedIP,
    FloatingIPSpec,
    PortSpec,
    ProviderNetwork,
    ProviderPort,
)
from stackgate.providers.simulator import SimulatorProvider


async def public_of(sim: SimulatorProvider) -> ProviderNetwork:
    public = await sim.network.find_network("public")
    assert public is not None
    return public


async def a_port(sim: SimulatorProvider, *addresses: str) -> ProviderPort:
    network, subnet = await private_network(sim)
    fixed = tuple(FixedIP(subnet.id, a) for a in addresses)
    return await sim.network.create_port(PortSpec(network.id, "project-a", fixed_ips=fixed))


async def test_an_address_comes_from_the_external_pool_down(sim: SimulatorProvider) -> None:
    public = await public_of(sim)
    fip = await sim.network.create_ip(
        FloatingIPSpec(public.id, "project-a", tags=("stackgate-id=f",))
    )
    last = int(fip.floating_ip_address.rsplit(".", 1)[1])
    assert fip.floating_ip_address.startswith("172.24.4.") and 2 <= last <= 254
    assert (fip.status, fip.port_id, fip.fixed_ip_address) == ("DOWN", None, None)
    assert fip.floating_network_id == public.id
    assert await sim.network.get_ip(fip.id) == fip
    assert await sim.network.ips(tags=("stackgate-id=f",)) == [fip]
    assert await sim.network.ips(tags=("stackgate-id=g",)) == []


async def test_the_address_asked_for_is_taken_once(sim: SimulatorProvider) -> None:
    public = await public_of(sim)
    fip = await sim.network.create_ip(
        FloatingIPSpec(public.id, "project-a", floating_ip_address="172.24.4.77")
    )
    assert fip.floating_ip_address == "172.24.4.77"
    with pytest.raises(ProviderConflict, match=re.escape("172.24.4.77 already allocated")):
        await sim.network.create_ip(
            FloatingIPSpec(public.id, "project-b", floating_ip_address="172.24.4.77")
        )
    with pytest.raises(ProviderBadRequest, match="is not a valid IP for the network"):
        await sim.network.create_ip(
            FloatingIPSpec(public.id, "project-a", floating_ip_address="10.0.0.9")
        )
    assert len(await sim.network.ips()) == 1


async def test_only_an_external_network_has_floating_ips(sim: SimulatorProvider) -> None:
    network, _ = await private_network(sim)
    with pytest.raises(ProviderBadRequest, match="is not a valid external network"):
        await sim.network.create_ip(FloatingIPSpec(network.id, "project-a"))
    with pytest.raises(ProviderNotFound):
        await sim.network.create_ip(FloatingIPSpec("nope", "project-a"))
    assert await sim.network.ips() == []


async def test_associate_makes_it_active_and_disassociate_down(sim: SimulatorProvider) -> None:
    public = await public_of(sim)
    port = await a_port(sim, "10.0.0.8")
    fip = await sim.network.create_ip(FloatingIPSpec(public.id, "project-a"))
    associated = await sim.network.update_ip(fip.id, port_id=port.id)
    assert (associated.status, associated.port_id, associated.fixed_ip_address) == (
        "ACTIVE",
        port.id,
        "10.0.0.8",
    )
    again = await sim.network.update_ip(fip.id, port_id=port.id, fixed_ip_address="10.0.0.8")
    assert again == associated  # idempotent
    released = await sim.network.update_ip(fip.id, port_id=None)
    assert (released.status, released.port_id, released.fixed_ip_address) == ("DOWN", None, None)


async def test_one_floating_ip_per_fixed_ip(sim: SimulatorProvider) -> None:
    public = await public_of(sim)
    port = await a_port(sim, "10.0.0.8")
    first = await sim.network.create_ip(FloatingIPSpec(public.id, "project-a"))
    second = await sim.network.create_ip(FloatingIPSpec(public.id, "project-a"))
    await sim.network.update_ip(first.id, port_id=port.id)
    with pytest.raises(ProviderConflict) as refused:
        await sim.network.update_ip(second.id, port_id=port.id)
    assert refused.value.message.startswith(
        f"Cannot associate floating IP {second.floating_ip_address} ({second.id}) with port "
        f"{port.id} using fixed IP 10.0.0.8, as that fixed IP already has a floating IP"
    )
    assert (await sim.network.get_ip(second.id)).status == "DOWN"


async def test_association_checks_the_port(sim: SimulatorProvider) -> None:
    public = await public_of(sim)
    fip = await sim.network.create_ip(FloatingIPSpec(public.id, "project-a"))
    with pytest.raises(ProviderNotFound, match="Port nope could not be found"):
        await sim.network.update_ip(fip.id, port_id="nope")
    port = await a_port(sim, "10.0.0.8")
    with pytest.raises(ProviderBadRequest, match=re.escape("does not have fixed ip 10.0.0.9")):
        await sim.network.update_ip(fip.id, port_id=port.id, fixed_ip_address="10.0.0.9")
    with pytest.raises(ProviderNotFound, match="Floating IP nope could not be found"):
        await sim.network.update_ip("nope", port_id=port.id)
    assert (await sim.network.get_ip(fip.id)).status == "DOWN"


async def test_a_port_with_two_ipv4_addresses_needs_the_one_named(
    sim: SimulatorProvider,
) -> None:
    public = await public_of(sim)
    port = await a_port(sim, "10.0.0.8", "10.0.0.9")
    fip = await sim.network.create_ip(FloatingIPSpec(public.id, "project-a"))
    with pytest.raises(ProviderBadRequest, match="has multiple fixed IPv4 addresses"):
        await sim.network.update_ip(fip.id, port_id=port.id)
    chosen = await sim.network.update_ip(fip.id, port_id=port.id, fixed_ip_address="10.0.0.9")
    assert chosen.fixed_ip_address == "10.0.0.9"


async def test_deleting_the_port_disassociates_its_floating_ip(sim: SimulatorProvider) -> None:
    public = await public_of(sim)
    port = await a_port(sim, "10.0.0.8")
    fip = await sim.network.create_ip(FloatingIPSpec(public.id, "project-a"))
    await sim.network.update_ip(fip.id, port_id=port.id)
    await sim.network.delete_port(port.id)
    kept = await sim.network.get_ip(fip.id)
    assert (kept.status, kept.port_id, kept.fixed_ip_address) == ("DOWN", None, None)


async def test_delete_releases_the_address(sim: SimulatorProvider) -> None:
    public = await public_of(sim)
    fip = await sim.network.create_ip(
        FloatingIPSpec(public.id, "project-a", floating_ip_address="172.24.4.50")
    )
    await sim.network.delete_ip(fip.id)
    await sim.network.delete_ip(fip.id)  # missing: fine
    with pytest.raises(ProviderNotFound):
        await sim.network.get_ip(fip.id)
    again = await sim.network.create_ip(
        FloatingIPSpec(public.id, "project-a", floating_ip_address="172.24.4.50")
    )
    assert again.floating_ip_address == "172.24.4.50"


async def test_an_exhausted_pool_is_external_ip_address_exhausted(
    sim: SimulatorProvider,
) -> None:
    public = await public_of(sim)
    for _ in range(253):
        await sim.network.create_ip(FloatingIPSpec(public.id, "project-a"))
    with pytest.raises(ProviderBadRequest, match="Unable to find any IP address on external"):
        await sim.network.create_ip(FloatingIPSpec(public.id, "project-a"))
    addresses = {f.floating_ip_address for f in await sim.network.ips()}
    assert len(addresses) == 253
    assert "172.24.4.1" not in addresses and "172.24.4.255" not in addresses

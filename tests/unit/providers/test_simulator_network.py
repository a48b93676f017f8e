"""Neutron in the simulator: the seeded public network, subnets, ports and their IPAM."""

from __future__ import annotations

import ipaddress
import re

import pytest
from sim_builders import private_network, subnet_spec

from stackgate.network import seed
from stackgate.providers.base import ProviderBadRequest, ProviderConflict, ProviderNotFound
from stackgate.providers.network import (
    FixedIP,
    FloatingIPSpec,
    NetworkSpec,
    PortSpec,
    SecurityGroupSpec,
)
from stackgate.providers.simulator import SimulatorProvider

MAC = re.compile(r"^fa:16:3e(:[0-9a-f]{2}){3}$")


def port_spec(network_id: str, *fixed: FixedIP, tags: tuple[str, ...] = ()) -> PortSpec:
    return PortSpec(network_id=network_id, project_id="project-a", fixed_ips=fixed, tags=tags)


async def test_the_public_network_is_seeded_shared_and_external(sim: SimulatorProvider) -> None:
    public = await sim.network.find_network("public")
    assert public is not None
    assert (public.shared, public.external, public.status) == (True, True, "ACTIVE")
    assert public.id != seed.PUBLIC_NETWORK_ID  # the cloud's own id, found by name
    [subnet] = await sim.network.subnets(network_id=public.id)
    assert (subnet.name, subnet.cidr, subnet.gateway_ip, subnet.allocation_pools) == (
        "public-subnet",
        "172.24.4.0/24",
        "172.24.4.1",
        (("172.24.4.2", "172.24.4.254"),),
    )
    assert await sim.network.find_network(public.id) == public
    assert await sim.network.find_network("nowhere") is None


async def test_seeding_again_on_restart_keeps_one_public_network(
    sim: SimulatorProvider,
) -> None:
    await sim.close()
    await sim.start()  # in-memory store: gone and seeded again, still exactly one
    assert [n.name for n in await sim.network.networks()] == ["public"]


async def test_networks_and_subnets_filter_on_every_tag(sim: SimulatorProvider) -> None:
    tagged = await sim.network.create_network(
        NetworkSpec(name="n", project_id="project-a", tags=("stackgate-id=1", "x"))
    )
    await sim.network.create_network(NetworkSpec(name="m", project_id="project-a", tags=("x",)))
    assert [n.id for n in await sim.network.networks(tags=("stackgate-id=1", "x"))] == [tagged.id]
    assert len(await sim.network.networks(tags=("x",))) == 2
    subnet = await sim.network.create_subnet(subnet_spec(tagged.id, tags=("stackgate-id=2",)))
    assert [s.id for s in await sim.network.subnets(tags=("stackgate-id=2",))] == [subnet.id]
    assert await sim.network.subnets(tags=("stackgate-id=3",)) == []


async def test_a_subnet_without_pools_gets_neutrons_default_pool(sim: SimulatorProvider) -> None:
    _, subnet = await private_network(sim, "192.168.5.0/24", gateway_ip="192.168.5.1")
    assert subnet.allocation_pools == (("192.168.5.2", "192.168.5.254"),)
    assert (subnet.enable_dhcp, subnet.ip_version) == (True, 4)


@pytest.mark.parametrize(
    ("cidr", "gateway", "pools", "message"),
    [
        ("10.0.0.0/33", "10.0.0.1", (), "is not a valid IP subnet"),
        ("10.0.0.5/24", "10.0.0.1", (), "is not a valid IP subnet"),
        ("10.0.0.0/24", "10.0.1.1", (), "Gateway is not valid on subnet"),
        ("10.0.0.0/24", "10.0.0.1", (("10.0.0.2", "10.0.1.9"),), "is not within subnet"),
    ],
)
async def test_bad_subnets_are_refused(
    sim: SimulatorProvider,
    cidr: str,
    gateway: str,
    pools: tuple[tuple[str, str], ...],
    message: str,
) -> None:
    network = await sim.network.create_network(NetworkSpec(name="n", project_id="project-a"))
    with pytest.raises(ProviderBadRequest, match=message):
        await sim.network.create_subnet(
            subnet_spec(network.id, cidr, gateway_ip=gateway, pools=pools)
        )
    assert await sim.network.subnets(network_id=network.id) == []


async def test_a_pool_holding_the_gateway_or_an_overlapping_subnet_is_refused(
    sim: SimulatorProvider,
) -> None:
    network, _ = await private_network(sim)
    with pytest.raises(ProviderConflict, match="conflicts with allocation pool"):
        await sim.network.create_subnet(
            subnet_spec(
                network.id, "10.1.0.0/24", gateway_ip="10.1.0.5", pools=(("10.1.0.2", "10.1.0.9"),)
            )
        )
    with pytest.raises(ProviderBadRequest, match="overlaps with another subnet"):
        await sim.network.create_subnet(subnet_spec(network.id, "10.0.0.128/25", gateway_ip=None))


async def test_a_subnet_on_a_missing_network_is_not_found(sim: SimulatorProvider) -> None:
    with pytest.raises(ProviderNotFound, match="Network nope could not be found"):
        await sim.network.create_subnet(subnet_spec("nope"))


async def test_a_port_takes_the_fixed_ip_asked_for_and_is_down(sim: SimulatorProvider) -> None:
    network, subnet = await private_network(sim)
    port = await sim.network.create_port(
        port_spec(network.id, FixedIP(subnet.id, "10.0.0.10"), tags=("stackgate-id=p",))
    )
    assert port.fixed_ips == (FixedIP(subnet.id, "10.0.0.10"),)
    assert (port.status, port.device_id, port.network_id) == ("DOWN", None, network.id)
    assert port.mac_address is not None and MAC.match(port.mac_address)
    assert await sim.network.get_port(port.id) == port
    assert await sim.network.ports(tags=("stackgate-id=p",)) == [port]
    assert await sim.network.ports(tags=("stackgate-id=q",)) == []


async def test_an_address_in_use_is_ip_address_already_allocated(sim: SimulatorProvider) -> None:
    network, subnet = await private_network(sim)
    await sim.network.create_port(port_spec(network.id, FixedIP(subnet.id, "10.0.0.10")))
    with pytest.raises(ProviderConflict) as refused:
        await sim.network.create_port(port_spec(network.id, FixedIP(subnet.id, "10.0.0.10")))
    assert refused.value.status_code == 409
    assert refused.value.message == f"IP address 10.0.0.10 already allocated in subnet {subnet.id}"
    with pytest.raises(ProviderConflict, match="already allocated"):  # the gateway is taken
        await sim.network.create_port(port_spec(network.id, FixedIP(subnet.id, "10.0.0.1")))
    assert len(await sim.network.ports()) == 1


@pytest.mark.parametrize("address", ["10.0.1.7", "10.0.0.0", "10.0.0.255", "not-an-ip"])
async def test_an_address_outside_the_subnet_is_invalid(
    sim: SimulatorProvider, address: str
) -> None:
    network, subnet = await private_network(sim)
    with pytest.raises(ProviderBadRequest, match="is not a valid IP for the specified subnet"):
        await sim.network.create_port(port_spec(network.id, FixedIP(subnet.id, address)))
    assert await sim.network.ports() == []


async def test_a_subnet_of_another_network_is_refused(sim: SimulatorProvider) -> None:
    network, _ = await private_network(sim)
    _, other = await private_network(sim, "10.9.0.0/24", gateway_ip="10.9.0.1")
    with pytest.raises(ProviderBadRequest, match="included invalid subnet"):
        await sim.network.create_port(port_spec(network.id, FixedIP(other.id, "10.9.0.5")))


async def test_ports_without_fixed_ips_get_distinct_addresses_until_none_is_left(
    sim: SimulatorProvider,
) -> None:
    network, subnet = await private_network(sim, "10.0.0.0/29", gateway_ip="10.0.0.1")
    ports = [await sim.network.create_port(port_spec(network.id)) for _ in range(5)]
    addresses = {p.fixed_ips[0].ip_address for p in ports}
    assert addresses == {f"10.0.0.{i}" for i in range(2, 7)}
    assert len({p.mac_address for p in ports}) == 5
    with pytest.raises(
        ProviderConflict, match=f"No more IP addresses available on network {network.id}"
    ):
        await sim.network.create_port(port_spec(network.id))
    await sim.network.delete_port(ports[0].id)
    again = await sim.network.create_port(port_spec(network.id))
    assert again.fixed_ips == ports[0].fixed_ips  # released on delete, so free again
    assert again.fixed_ips[0].subnet_id == subnet.id


async def test_a_port_without_groups_gets_the_project_default_group(
    sim: SimulatorProvider,
) -> None:
    network, _ = await private_network(sim)
    port = await sim.network.create_port(port_spec(network.id))
    default = await sim.network.find_security_group("default", project_id="project-a")
    assert default is not None
    assert port.security_group_ids == (default.id,)


async def test_update_port_replaces_its_groups(sim: SimulatorProvider) -> None:
    network, _ = await private_network(sim)
    port = await sim.network.create_port(port_spec(network.id))
    web = await sim.network.create_security_group(SecurityGroupSpec("web", "project-a"))
    updated = await sim.network.update_port(port.id, security_group_ids=(web.id,))
    assert updated.security_group_ids == (web.id,)
    assert (await sim.network.get_port(port.id)).security_group_ids == (web.id,)
    with pytest.raises(ProviderNotFound, match="Security group nope does not exist"):
        await sim.network.update_port(port.id, security_group_ids=("nope",))
    with pytest.raises(ProviderNotFound, match="Port nope could not be found"):
        await sim.network.update_port("nope", security_group_ids=())


async def test_a_network_with_ports_is_in_use(sim: SimulatorProvider) -> None:
    network, subnet = await private_network(sim)
    port = await sim.network.create_port(port_spec(network.id))
    with pytest.raises(ProviderConflict, match="There are one or more ports still in use"):
        await sim.network.delete_network(network.id)
    with pytest.raises(ProviderConflict, match="One or more ports have an IP allocation"):
        await sim.network.delete_subnet(subnet.id)
    await sim.network.delete_port(port.id)
    await sim.network.delete_port(port.id)  # missing: not an error
    await sim.network.delete_subnet(subnet.id)
    await sim.network.delete_network(network.id)
    await sim.network.delete_network(network.id)
    with pytest.raises(ProviderNotFound, match=f"Network {network.id} could not be found."):
        await sim.network.get_network(network.id)


async def test_deleting_a_network_takes_its_subnets(sim: SimulatorProvider) -> None:
    network, _ = await private_network(sim)
    await sim.network.delete_network(network.id)
    assert await sim.network.subnets(network_id=network.id) == []


async def test_an_external_network_with_floating_ips_is_in_use(sim: SimulatorProvider) -> None:
    public = await sim.network.find_network("public")
    assert public is not None
    fip = await sim.network.create_ip(FloatingIPSpec(public.id, "project-a"))
    assert ipaddress.ip_address(fip.floating_ip_address) in ipaddress.ip_network("172.24.4.0/24")
    with pytest.raises(ProviderConflict, match="still in use on the network"):
        await sim.network.delete_network(public.id)

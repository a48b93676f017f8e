"""The network provider through openstacksdk against the fake Neutron (over real HTTP)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from openstack.connection import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.fakecloud.cloud import FakeCloud, fixed_id
from stackgate.fakecloud.neutron import seed_private_network
from stackgate.providers.base import ProviderConflict, ProviderNotFound
from stackgate.providers.network import (
    FixedIP,
    FloatingIPSpec,
    NetworkSpec,
    PortSpec,
    RuleSpec,
    SecurityGroupSpec,
    SubnetSpec,
)
from stackgate.providers.openstack import OpenStackProvider
from stackgate.providers.simulator import SimulatorProvider
from stackgate.providers.simulator.tables import SimPort


async def _project(os_provider: OpenStackProvider, project_id: str) -> str:
    """The Keystone project a StackGate project acts in."""
    session = os_provider.session
    return await session.call(lambda: session.keystone_project_id(project_id))


async def _net_with_subnet(
    os_provider: OpenStackProvider, project: str = "p1", cidr: str = "10.20.0.0/24"
) -> tuple[str, str]:
    network = await os_provider.network.create_network(
        NetworkSpec(name="net", project_id=project, tags=("sg:net",))
    )
    base = cidr.rsplit(".", 1)[0]
    subnet = await os_provider.network.create_subnet(
        SubnetSpec(
            network_id=network.id,
            name="sub",
            cidr=cidr,
            project_id=project,
            gateway_ip=f"{base}.1",
            allocation_pools=((f"{base}.10", f"{base}.200"),),
            tags=("sg:sub",),
        )
    )
    return network.id, subnet.id


async def test_network_subnet_and_port_with_a_fixed_ip(os_provider: OpenStackProvider) -> None:
    net = os_provider.network
    network_id, subnet_id = await _net_with_subnet(os_provider)
    keystone_id = await _project(os_provider, "p1")

    network = await net.get_network(network_id)
    assert (network.name, network.status, network.tags) == ("net", "ACTIVE", ("sg:net",))
    assert network.project_id == keystone_id
    assert not network.shared and not network.external
    (subnet,) = await net.subnets(network_id=network_id)
    assert subnet.id == subnet_id
    assert (subnet.cidr, subnet.gateway_ip) == ("10.20.0.0/24", "10.20.0.1")
    assert subnet.allocation_pools == (("10.20.0.10", "10.20.0.200"),)
    assert subnet.enable_dhcp and subnet.ip_version == 4

    port = await net.create_port(
        PortSpec(
            network_id=network_id,
            project_id="p1",
            name="eth0",
            fixed_ips=(FixedIP(subnet_id, "10.20.0.42"),),
            tags=("sg:port",),
        )
    )
    assert port.fixed_ips == (FixedIP(subnet_id, "10.20.0.42"),)
    assert port.status == "DOWN" and port.device_id is None
    assert port.mac_address is not None and port.mac_address.startswith("fa:16:3e:")
    # No group asked for: the project's default group, made on first use.
    default = await net.find_security_group("default", project_id="p1")
    assert default is not None and port.security_group_ids == (default.id,)
    assert (await net.get_port(port.id)) == port
    assert [p.id for p in await net.ports(tags=("sg:port",))] == [port.id]
    assert await net.ports(tags=("sg:port", "other")) == []
    assert await net.ports(device_id=str(uuid.uuid4())) == []
    assert [n.id for n in await net.networks(tags=("sg:net",))] == [network_id]
    assert [s.id for s in await net.subnets(tags=("sg:sub",))] == [subnet_id]

    with pytest.raises(ProviderConflict, match="already allocated"):
        await net.create_port(
            PortSpec(network_id, "p1", fixed_ips=(FixedIP(subnet_id, "10.20.0.42"),))
        )


async def test_ports_by_device_id(os_provider: OpenStackProvider, sim: SimulatorProvider) -> None:
    network_id, _ = await _net_with_subnet(os_provider)
    port = await os_provider.network.create_port(PortSpec(network_id, "p1"))
    other = await os_provider.network.create_port(PortSpec(network_id, "p1"))
    device = str(uuid.uuid4())

    async def bind(session: AsyncSession) -> None:
        # What Nova's binding does to the port (the compute side is not under test here).
        row = await session.get(SimPort, port.id)
        assert row is not None
        row.device_id, row.device_owner = device, "compute:nova"

    await sim.store.run(bind, write=True)
    found = await os_provider.network.ports(device_id=device)
    assert [p.id for p in found] == [port.id]
    assert found[0].device_id == device
    assert other.id not in {p.id for p in found}


async def test_security_groups_and_rules(os_provider: OpenStackProvider) -> None:
    net = os_provider.network
    group = await net.create_security_group(
        SecurityGroupSpec(name="web", project_id="p1", description="web tier", tags=("sg:g",))
    )
    assert group.name == "web" and group.tags == ("sg:g",)
    assert group.project_id == await _project(os_provider, "p1")
    assert sorted((r.direction, r.ethertype) for r in group.rules) == [
        ("egress", "IPv4"),
        ("egress", "IPv6"),
    ]
    assert all(r.protocol is None and r.remote_ip_prefix is None for r in group.rules)
    assert [g.id for g in await net.security_groups(tags=("sg:g",))] == [group.id]

    rule = await net.create_security_group_rule(
        RuleSpec(
            group.id,
            "ingress",
            protocol="tcp",
            port_range_min=22,
            port_range_max=22,
            remote_ip_prefix="10.0.0.5",
        )
    )
    assert (rule.protocol, rule.port_range_min, rule.port_range_max) == ("tcp", 22, 22)
    assert rule.remote_ip_prefix == "10.0.0.5/32"
    with pytest.raises(ProviderConflict) as caught:
        await net.create_security_group_rule(
            RuleSpec(
                group.id,
                "ingress",
                protocol="tcp",
                port_range_min=22,
                port_range_max=22,
                remote_ip_prefix="10.0.0.5/32",
            )
        )
    assert caught.value.message == f"Security group rule already exists. Rule id is {rule.id}."

    (found,) = await net.security_groups(tags=("sg:g",))
    assert rule.id in {r.id for r in found.rules}
    await net.delete_security_group_rule(rule.id)
    await net.delete_security_group_rule(rule.id)  # missing: not an error
    (found,) = await net.security_groups(tags=("sg:g",))
    assert len(found.rules) == 2


async def test_default_group_is_made_on_first_use(os_provider: OpenStackProvider) -> None:
    net = os_provider.network
    first = await net.find_security_group("default", project_id="p7")
    assert first is not None and first.name == "default"
    assert first.project_id == await _project(os_provider, "p7")
    kinds = sorted((r.direction, r.ethertype, r.remote_group_id == first.id) for r in first.rules)
    assert kinds == [
        ("egress", "IPv4", False),
        ("egress", "IPv6", False),
        ("ingress", "IPv4", True),
        ("ingress", "IPv6", True),
    ]
    again = await net.find_security_group("default", project_id="p7")
    assert again is not None and again.id == first.id
    other = await net.find_security_group("default", project_id="p8")
    assert other is not None and other.id != first.id
    assert await net.find_security_group("nope", project_id="p7") is None


async def test_group_in_use_is_a_conflict(os_provider: OpenStackProvider) -> None:
    net = os_provider.network
    network_id, _ = await _net_with_subnet(os_provider)
    group = await net.create_security_group(SecurityGroupSpec(name="db", project_id="p1"))
    other = await net.create_security_group(SecurityGroupSpec(name="cache", project_id="p1"))
    port = await net.create_port(PortSpec(network_id, "p1", security_group_ids=(group.id,)))
    assert port.security_group_ids == (group.id,)
    with pytest.raises(ProviderConflict, match=f"Security Group {group.id} in use"):
        await net.delete_security_group(group.id)

    moved = await net.update_port(port.id, security_group_ids=(other.id,))
    assert moved.security_group_ids == (other.id,)
    await net.delete_security_group(group.id)
    await net.delete_security_group(group.id)  # missing: not an error
    assert group.id not in {g.id for g in await net.security_groups()}


async def test_floating_ip_allocate_associate_release(os_provider: OpenStackProvider) -> None:
    net = os_provider.network
    public = await net.find_network("public")
    assert public is not None and public.external and public.shared
    network_id, _ = await _net_with_subnet(os_provider)
    port = await net.create_port(PortSpec(network_id, "p1"))

    fip = await net.create_ip(FloatingIPSpec(public.id, "p1", tags=("sg:fip",)))
    assert fip.status == "DOWN" and fip.port_id is None
    assert fip.floating_ip_address.startswith("172.24.4.")
    assert [i.id for i in await net.ips(tags=("sg:fip",))] == [fip.id]

    bound = await net.update_ip(fip.id, port_id=port.id)
    assert bound.port_id == port.id
    assert bound.fixed_ip_address == port.fixed_ips[0].ip_address
    assert bound.status == "ACTIVE"
    assert (await net.get_ip(fip.id)) == bound

    freed = await net.update_ip(fip.id, port_id=None)
    assert (freed.port_id, freed.fixed_ip_address, freed.status) == (None, None, "DOWN")

    chosen = await net.create_ip(FloatingIPSpec(public.id, "p1", floating_ip_address="172.24.4.77"))
    assert chosen.floating_ip_address == "172.24.4.77"

    await net.delete_ip(fip.id)
    await net.delete_ip(fip.id)  # missing: not an error
    with pytest.raises(ProviderNotFound):
        await net.get_ip(fip.id)


async def test_deleting_a_port_frees_its_floating_ip(os_provider: OpenStackProvider) -> None:
    net = os_provider.network
    public = await net.find_network("public")
    assert public is not None
    network_id, _ = await _net_with_subnet(os_provider)
    port = await net.create_port(PortSpec(network_id, "p1"))
    fip = await net.create_ip(FloatingIPSpec(public.id, "p1"))
    await net.update_ip(fip.id, port_id=port.id)
    await net.delete_port(port.id)
    after = await net.get_ip(fip.id)
    assert (after.port_id, after.status) == (None, "DOWN")


async def test_network_and_subnet_in_use_are_conflicts(os_provider: OpenStackProvider) -> None:
    net = os_provider.network
    network_id, subnet_id = await _net_with_subnet(os_provider)
    port = await net.create_port(PortSpec(network_id, "p1"))
    with pytest.raises(ProviderConflict, match="ports still in use on the network"):
        await net.delete_network(network_id)
    with pytest.raises(ProviderConflict, match="have an IP allocation from this subnet"):
        await net.delete_subnet(subnet_id)
    await net.delete_port(port.id)
    await net.delete_subnet(subnet_id)
    await net.delete_network(network_id)
    with pytest.raises(ProviderNotFound):
        await net.get_network(network_id)


async def test_deleting_what_is_missing_is_quiet(os_provider: OpenStackProvider) -> None:
    net = os_provider.network
    missing = str(uuid.uuid4())
    await net.delete_network(missing)
    await net.delete_subnet(missing)
    await net.delete_port(missing)
    await net.delete_security_group(missing)
    await net.delete_security_group_rule(missing)
    await net.delete_ip(missing)
    with pytest.raises(ProviderNotFound):
        await net.get_port(missing)
    assert await net.find_network("no-such-network") is None


async def test_over_quota_is_neutrons_409(
    os_provider: OpenStackProvider, os_conn: Connection
) -> None:
    net = os_provider.network
    network_id, _ = await _net_with_subnet(os_provider)
    keystone_id = await _project(os_provider, "p1")
    await net.create_port(PortSpec(network_id, "p1"))
    await asyncio.to_thread(lambda: os_conn.network.update_quota(keystone_id, ports=1))
    quota = await asyncio.to_thread(lambda: os_conn.network.get_quota(keystone_id, details=True))
    assert quota.ports == {"limit": 1, "used": 1, "reserved": 0}

    with pytest.raises(ProviderConflict) as caught:
        await net.create_port(PortSpec(network_id, "p1"))
    assert caught.value.message == "Quota exceeded for resources: ['port']."
    # Another project keeps Neutron's default of 500.
    other_id, _ = await _net_with_subnet(os_provider, project="p2")
    await net.create_port(PortSpec(other_id, "p2"))


async def test_devstack_private_network_is_seeded(
    os_provider: OpenStackProvider, sim: SimulatorProvider
) -> None:
    # The app's startup may seed it again: nothing changes.
    await seed_private_network(FakeCloud(sim=sim, admin_password="unused"))
    private = await os_provider.network.find_network("private")
    assert private is not None and private.project_id == fixed_id("project", "admin")
    assert [n.id for n in await os_provider.network.networks() if n.name == "private"] == [
        private.id
    ]
    (subnet,) = await os_provider.network.subnets(network_id=private.id)
    assert (subnet.name, subnet.cidr, subnet.gateway_ip) == (
        "private-subnet",
        "10.0.0.0/26",
        "10.0.0.1",
    )

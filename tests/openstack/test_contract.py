"""One contract, every provider that can run here: the simulator called in process, and the
OpenStack provider calling the same simulator through `stackgate fakecloud` over HTTP. The same
scenario must give the same answers (DTO values and error classes) through both, so the two
cannot drift apart (CONVENTIONS.md, Providers)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from stackgate.core.ids import stable_id
from stackgate.providers.base import (
    FlavorSpec,
    ImageSpec,
    Provider,
    ProviderBadRequest,
    ProviderConflict,
    ProviderNotFound,
    ServerSpec,
)
from stackgate.providers.network import (
    FixedIP,
    FloatingIPSpec,
    NetworkSpec,
    PortSpec,
    RuleSpec,
    SubnetSpec,
)
from stackgate.providers.openstack import OpenStackProvider
from stackgate.providers.openstack.session import CloudSession
from stackgate.providers.simulator import SimulatorProvider
from stackgate.providers.storage import VolumeSpec
from tests.openstack.conftest import connect_kwargs

TINY = FlavorSpec(name="m1.tiny", vcpus=1, ram_mb=512, disk_gb=5, id=stable_id("flavor/m1.tiny"))
SMALL = FlavorSpec(
    name="m1.small", vcpus=1, ram_mb=2048, disk_gb=20, id=stable_id("flavor/m1.small")
)
CIRROS = ImageSpec(id=stable_id("image/cirros-0.6"), name="cirros-0.6")
PROJECT = "6f1b7c2e-0000-4000-8000-00000000c0de"


@pytest.fixture(params=["simulator", "openstack"])
async def cloud(
    request: pytest.FixtureRequest, sim: SimulatorProvider, fake_url: str
) -> AsyncIterator[Provider]:
    if request.param == "simulator":
        yield sim
        return
    provider = OpenStackProvider(CloudSession(connect_kwargs=connect_kwargs(fake_url), threads=4))
    yield provider
    await provider.close()


def spec(name: str, **extra: object) -> ServerSpec:
    return ServerSpec(
        name=name,
        flavor=TINY,
        image=CIRROS,
        project_id=PROJECT,
        tags=(f"stackgate-id={name}",),
        **extra,  # type: ignore[arg-type]
    )


async def active(cloud: Provider, name: str) -> str:
    made = await cloud.compute.create_server(spec(name))
    # The OpenStack provider reads the server back after the POST; at speed 0 that read
    # already finds it built.
    assert made.status in ("BUILD", "ACTIVE")
    server = await cloud.compute.get_server(made.id)
    assert (server.status, server.vm_state, server.task_state, server.power_state) == (
        "ACTIVE",
        "active",
        None,
        1,
    )
    return made.id


class TestComputeContract:
    async def test_create_lists_by_tag_and_reads_back(self, cloud: Provider) -> None:
        server_id = await active(cloud, "c1")
        server = await cloud.compute.get_server(server_id)
        assert server.name == "c1"
        assert (server.flavor.name, server.flavor.vcpus, server.flavor.ram_mb) == (
            "m1.tiny",
            1,
            512,
        )
        assert server.image_id == CIRROS.id
        assert server.ip_address and server.launched_at is not None
        assert "stackgate-id=c1" in server.tags
        tagged = await cloud.compute.servers(tags=("stackgate-id=c1",))
        assert [s.id for s in tagged] == [server_id]
        assert await cloud.compute.servers(tags=("stackgate-id=nobody",)) == []

    async def test_stop_start_and_the_409_for_a_wrong_state(self, cloud: Provider) -> None:
        server_id = await active(cloud, "c2")
        await cloud.compute.stop_server(server_id)
        stopped = await cloud.compute.get_server(server_id)
        assert (stopped.status, stopped.power_state) == ("SHUTOFF", 4)
        with pytest.raises(ProviderConflict) as refused:
            await cloud.compute.stop_server(server_id)
        assert "Cannot 'stop' instance" in refused.value.message
        assert "vm_state stopped" in refused.value.message
        await cloud.compute.start_server(server_id)
        assert (await cloud.compute.get_server(server_id)).status == "ACTIVE"

    async def test_resize_then_revert_keeps_the_old_flavor(self, cloud: Provider) -> None:
        server_id = await active(cloud, "c3")
        await cloud.compute.resize_server(server_id, SMALL)
        assert (await cloud.compute.get_server(server_id)).status == "VERIFY_RESIZE"
        await cloud.compute.revert_server_resize(server_id)
        reverted = await cloud.compute.get_server(server_id)
        assert (reverted.status, reverted.flavor.name) == ("ACTIVE", "m1.tiny")
        with pytest.raises(ProviderBadRequest):
            await cloud.compute.resize_server(server_id, TINY)

    async def test_delete_then_gone(self, cloud: Provider) -> None:
        server_id = await active(cloud, "c4")
        await cloud.compute.delete_server(server_id)
        with pytest.raises(ProviderNotFound):
            await cloud.compute.get_server(server_id)
        await cloud.compute.delete_server(server_id)  # a missing server is no error


class TestStorageAndNetworkContract:
    async def test_volume_lifecycle(self, cloud: Provider) -> None:
        made = await cloud.block_storage.create_volume(
            VolumeSpec(name="v", size_gb=1, project_id=PROJECT, metadata={"stackgate-id": "v1"})
        )
        volume = await cloud.block_storage.get_volume(made.id)
        assert (volume.status, volume.size_gb, volume.bootable) == ("available", 1, False)
        found = await cloud.block_storage.volumes(metadata={"stackgate-id": "v1"})
        assert [v.id for v in found] == [made.id]
        await cloud.block_storage.extend_volume(made.id, 2)
        assert (await cloud.block_storage.get_volume(made.id)).size_gb == 2
        with pytest.raises(ProviderBadRequest):
            await cloud.block_storage.extend_volume(made.id, 1)
        await cloud.block_storage.delete_volume(made.id)
        with pytest.raises(ProviderNotFound):
            await cloud.block_storage.get_volume(made.id)

    async def test_ports_groups_and_floating_ips(self, cloud: Provider) -> None:
        net = cloud.network
        network = await net.create_network(NetworkSpec("n", PROJECT, tags=("stackgate-id=n",)))
        subnet = await net.create_subnet(
            SubnetSpec(
                network_id=network.id,
                name="s",
                cidr="10.9.0.0/29",
                project_id=PROJECT,
                gateway_ip="10.9.0.1",
                allocation_pools=(("10.9.0.2", "10.9.0.6"),),
            )
        )
        port = await net.create_port(
            PortSpec(
                network_id=network.id,
                project_id=PROJECT,
                fixed_ips=(FixedIP(subnet.id, "10.9.0.5"),),
                tags=("stackgate-id=p",),
            )
        )
        assert [p.id for p in await net.ports(tags=("stackgate-id=p",))] == [port.id]
        assert port.fixed_ips == (FixedIP(subnet.id, "10.9.0.5"),)
        default = await net.find_security_group("default", project_id=PROJECT)
        assert default is not None and len(default.rules) == 4
        egress = next(r for r in default.rules if r.direction == "egress")
        with pytest.raises(ProviderConflict):
            await net.create_security_group_rule(
                RuleSpec(
                    security_group_id=default.id, direction="egress", ethertype=egress.ethertype
                )
            )
        public = await net.find_network("public")
        assert public is not None and public.external
        fip = await net.create_ip(FloatingIPSpec(public.id, PROJECT))
        assert fip.status == "DOWN"
        associated = await net.update_ip(fip.id, port_id=port.id)
        assert (associated.port_id, associated.fixed_ip_address) == (port.id, "10.9.0.5")
        with pytest.raises(ProviderConflict):
            await net.delete_network(network.id)
        await net.delete_ip(fip.id)
        await net.delete_port(port.id)
        await net.delete_port(port.id)

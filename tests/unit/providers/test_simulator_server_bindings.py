"""Servers with ports and volumes: binding at boot, attachments, release on delete."""

from __future__ import annotations

import pytest
from sim_builders import SMALL, FakeClock, private_network, server_spec, volume_spec

from stackgate.providers.base import (
    ImageSpec,
    ProviderBadRequest,
    ProviderConflict,
    ProviderNotFound,
    ServerSpec,
)
from stackgate.providers.network import FixedIP, PortSpec, ProviderPort
from stackgate.providers.simulator import SimulatorProvider


async def ports(sim: SimulatorProvider, *addresses: str) -> list[ProviderPort]:
    network, subnet = await private_network(sim)
    return [
        await sim.network.create_port(
            PortSpec(network.id, "project-a", fixed_ips=(FixedIP(subnet.id, a),))
        )
        for a in addresses
    ]


async def available_volume(
    sim: SimulatorProvider, *, image_id: str | None = None, size_gb: int = 10
) -> str:
    volume_id = (
        await sim.block_storage.create_volume(volume_spec(size_gb=size_gb, image_id=image_id))
    ).id
    assert (await sim.block_storage.get_volume(volume_id)).status == "available"
    return volume_id


async def test_a_server_binds_the_ports_it_is_given(sim: SimulatorProvider) -> None:
    first, second = await ports(sim, "10.0.0.21", "10.0.0.22")
    server_id = (await sim.compute.create_server(server_spec(port_ids=(first.id, second.id)))).id
    server = await sim.compute.get_server(server_id)
    assert (server.status, server.ip_address) == ("ACTIVE", "10.0.0.21")
    for port_id in (first.id, second.id):
        port = await sim.network.get_port(port_id)
        assert (port.device_id, port.device_owner, port.status) == (
            server_id,
            "compute:nova",
            "ACTIVE",
        )
    assert [p.id for p in await sim.network.ports(device_id=server_id)] == [first.id, second.id]


async def test_two_projects_may_boot_on_the_same_private_address(sim: SimulatorProvider) -> None:
    [mine] = await ports(sim, "10.0.0.5")
    network, subnet = await private_network(sim, project_id="project-b")
    theirs = await sim.network.create_port(
        PortSpec(network.id, "project-b", fixed_ips=(FixedIP(subnet.id, "10.0.0.5"),))
    )
    a = await sim.compute.create_server(server_spec("a", port_ids=(mine.id,)))
    b = await sim.compute.create_server(server_spec("b", port_ids=(theirs.id,)))
    assert {(await sim.compute.get_server(s.id)).ip_address for s in (a, b)} == {"10.0.0.5"}


async def test_an_unknown_or_bound_port_is_refused_and_nothing_is_made(
    sim: SimulatorProvider,
) -> None:
    [port] = await ports(sim, "10.0.0.21")
    with pytest.raises(ProviderBadRequest, match="Port id nope could not be found"):
        await sim.compute.create_server(server_spec(port_ids=(port.id, "nope")))
    assert (await sim.network.get_port(port.id)).device_id is None
    owner = (await sim.compute.create_server(server_spec(port_ids=(port.id,)))).id
    with pytest.raises(ProviderConflict, match=f"Port {port.id} is still in use"):
        await sim.compute.create_server(server_spec("second", port_ids=(port.id,)))
    assert [s.id for s in await sim.compute.servers()] == [owner]


async def test_deleting_the_server_unbinds_its_ports_and_keeps_them(
    sim: SimulatorProvider,
) -> None:
    [port] = await ports(sim, "10.0.0.21")
    server_id = (await sim.compute.create_server(server_spec(port_ids=(port.id,)))).id
    await sim.compute.get_server(server_id)
    await sim.compute.delete_server(server_id)
    after = await sim.network.get_port(port.id)
    assert (after.device_id, after.status, after.fixed_ips) == (None, "DOWN", port.fixed_ips)
    with pytest.raises(ProviderNotFound):
        await sim.compute.get_server(server_id)


async def test_a_failed_build_unbinds_its_ports_and_detaches_its_volume(
    sim: SimulatorProvider,
) -> None:
    [port] = await ports(sim, "10.0.0.21")
    volume_id = await available_volume(sim, image_id="img-cirros")
    sim.fail_next()
    server_id = (
        await sim.compute.create_server(server_spec(port_ids=(port.id,), boot_volume_id=volume_id))
    ).id
    server = await sim.compute.get_server(server_id)
    assert (server.status, server.ip_address) == ("ERROR", None)
    assert (await sim.network.get_port(port.id)).device_id is None
    volume = await sim.block_storage.get_volume(volume_id)
    assert (volume.status, volume.attachments) == ("available", ())


async def test_a_server_boots_from_a_volume_as_vda_without_host_disk(
    sim: SimulatorProvider,
) -> None:
    volume_id = await available_volume(sim, image_id="img-cirros")
    server_id = (await sim.compute.create_server(server_spec(boot_volume_id=volume_id))).id
    assert (await sim.compute.get_server(server_id)).status == "ACTIVE"
    volume = await sim.block_storage.get_volume(volume_id)
    assert volume.status == "in-use"
    assert [(a.server_id, a.device) for a in volume.attachments] == [(server_id, "/dev/vda")]
    used = [u.used for u in await sim.hypervisor_usage() if u.used.vcpus]
    assert [(u.vcpus, u.ram_mb, u.disk_gb) for u in used] == [(1, 2048, 0)]
    # The root volume never detaches, and deleting the server gives it back (available).
    with pytest.raises(ProviderBadRequest, match="Cannot detach a root device volume"):
        await sim.compute.delete_volume_attachment(server_id, volume_id)
    await sim.compute.delete_server(server_id)
    after = await sim.block_storage.get_volume(volume_id)
    assert (after.status, after.attachments) == ("available", ())


async def test_the_boot_volume_must_be_available_and_bootable(sim: SimulatorProvider) -> None:
    plain = await available_volume(sim)
    with pytest.raises(ProviderBadRequest, match="is not bootable"):
        await sim.compute.create_server(server_spec(boot_volume_id=plain))
    with pytest.raises(ProviderBadRequest, match="failed to get volume nope"):
        await sim.compute.create_server(server_spec(boot_volume_id="nope"))
    small = await available_volume(sim, image_id="img-ubuntu", size_gb=5)
    ubuntu = ImageSpec(id="img-ubuntu", name="ubuntu", min_disk_gb=10)
    with pytest.raises(ProviderBadRequest, match="Volume is smaller than the minimum size"):
        await sim.compute.create_server(
            ServerSpec("vm", SMALL, ubuntu, "project-a", boot_volume_id=small)
        )
    bootable = await available_volume(sim, image_id="img-cirros")
    await sim.compute.create_server(server_spec(boot_volume_id=bootable))
    with pytest.raises(ProviderBadRequest, match="Currently in 'in-use'"):
        await sim.compute.create_server(server_spec("again", boot_volume_id=bootable))
    assert len(await sim.compute.servers()) == 1


async def test_attachments_take_the_next_free_device(sim: SimulatorProvider) -> None:
    server_id = (await sim.compute.create_server(server_spec())).id
    first, second = await available_volume(sim), await available_volume(sim)
    assert await sim.compute.create_volume_attachment(server_id, first) == "/dev/vdb"
    assert await sim.compute.create_volume_attachment(server_id, second) == "/dev/vdc"
    volume = await sim.block_storage.get_volume(second)
    assert volume.status == "in-use"
    assert [(a.server_id, a.device) for a in volume.attachments] == [(server_id, "/dev/vdc")]
    await sim.compute.delete_volume_attachment(server_id, first)
    assert (await sim.block_storage.get_volume(first)).status == "available"
    third = await available_volume(sim)
    assert await sim.compute.create_volume_attachment(server_id, third) == "/dev/vdb"


async def test_attach_and_detach_pass_through_attaching_and_detaching(
    timed: SimulatorProvider, clock: FakeClock
) -> None:
    server_id = (await timed.compute.create_server(server_spec())).id
    volume_id = (await timed.block_storage.create_volume(volume_spec())).id
    clock.advance(6)
    await timed.compute.create_volume_attachment(server_id, volume_id)
    assert (await timed.block_storage.get_volume(volume_id)).status == "attaching"
    clock.advance(6)
    assert (await timed.block_storage.get_volume(volume_id)).status == "in-use"
    await timed.compute.delete_volume_attachment(server_id, volume_id)
    assert (await timed.block_storage.get_volume(volume_id)).status == "detaching"
    clock.advance(6)
    assert (await timed.block_storage.get_volume(volume_id)).status == "available"


async def test_attach_refuses_a_volume_that_is_not_available(sim: SimulatorProvider) -> None:
    server_id = (await sim.compute.create_server(server_spec())).id
    other_id = (await sim.compute.create_server(server_spec("other"))).id
    volume_id = await available_volume(sim)
    await sim.compute.create_volume_attachment(server_id, volume_id)
    with pytest.raises(ProviderBadRequest) as refused:
        await sim.compute.create_volume_attachment(other_id, volume_id)
    assert refused.value.message == (
        f"Invalid volume: Volume {volume_id} status must be 'available'. Currently in 'in-use'"
    )
    # Detaching from a server it is not attached to changes nothing and is not an error.
    await sim.compute.delete_volume_attachment(other_id, volume_id)
    assert (await sim.block_storage.get_volume(volume_id)).attachments[0].server_id == server_id


async def test_attach_needs_a_server_in_a_state_nova_allows(
    timed: SimulatorProvider, clock: FakeClock
) -> None:
    server_id = (await timed.compute.create_server(server_spec())).id
    volume_id = (await timed.block_storage.create_volume(volume_spec())).id
    with pytest.raises(ProviderConflict) as refused:
        await timed.compute.create_volume_attachment(server_id, volume_id)
    assert refused.value.message == (
        f"Cannot 'attach_volume' instance {server_id} while it is in vm_state building"
    )
    clock.advance(6)
    await timed.compute.stop_server(server_id)
    with pytest.raises(ProviderConflict, match="while it is in task_state powering-off"):
        await timed.compute.create_volume_attachment(server_id, volume_id)
    clock.advance(6)
    # Stopped is fine.
    assert await timed.compute.create_volume_attachment(server_id, volume_id) == "/dev/vdb"
    with pytest.raises(ProviderNotFound, match="Instance nope could not be found"):
        await timed.compute.create_volume_attachment("nope", volume_id)


async def test_deleting_a_server_detaches_its_data_volumes(sim: SimulatorProvider) -> None:
    server_id = (await sim.compute.create_server(server_spec())).id
    volume_id = await available_volume(sim)
    await sim.compute.create_volume_attachment(server_id, volume_id)
    await sim.compute.delete_server(server_id)
    [volume] = await sim.block_storage.volumes()
    assert (volume.status, volume.attachments) == ("available", ())
    await sim.block_storage.delete_volume(volume_id)

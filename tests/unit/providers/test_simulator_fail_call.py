"""The fail_call test hook: named calls answer 500 before changing anything."""

from __future__ import annotations

import pytest
from sim_builders import private_network, server_spec, volume_spec

from stackgate.providers.base import ProviderError, ProviderUnavailable
from stackgate.providers.network import FloatingIPSpec, PortSpec
from stackgate.providers.simulator import SimulatorProvider


async def test_the_named_call_fails_count_times_then_works(sim: SimulatorProvider) -> None:
    network, _ = await private_network(sim)
    sim.fail_call("create_port", count=2)
    for _ in range(2):
        with pytest.raises(ProviderError) as failed:
            await sim.network.create_port(PortSpec(network.id, "project-a"))
        assert not isinstance(failed.value, ProviderUnavailable)  # not retryable
        assert (failed.value.message, failed.value.status_code) == (
            "injected failure in create_port",
            500,
        )
    assert await sim.network.ports() == []
    assert len((await sim.network.create_port(PortSpec(network.id, "project-a"))).fixed_ips) == 1


async def test_other_calls_are_not_affected(sim: SimulatorProvider) -> None:
    sim.fail_call("create_volume")
    server = await sim.compute.create_server(server_spec())
    assert (await sim.compute.get_server(server.id)).status == "ACTIVE"
    with pytest.raises(ProviderError, match="injected failure in create_volume"):
        await sim.block_storage.create_volume(volume_spec())
    assert await sim.block_storage.volumes() == []
    assert (await sim.block_storage.create_volume(volume_spec())).status == "creating"


async def test_create_server_fails_without_binding_anything(sim: SimulatorProvider) -> None:
    network, _ = await private_network(sim)
    port = await sim.network.create_port(PortSpec(network.id, "project-a"))
    sim.fail_call("create_server")
    with pytest.raises(ProviderError, match="injected failure in create_server"):
        await sim.compute.create_server(server_spec(port_ids=(port.id,)))
    assert await sim.compute.servers() == []
    assert (await sim.network.get_port(port.id)).device_id is None


async def test_attachment_and_floating_ip_calls_can_fail(sim: SimulatorProvider) -> None:
    server_id = (await sim.compute.create_server(server_spec())).id
    volume_id = (await sim.block_storage.create_volume(volume_spec())).id
    await sim.block_storage.get_volume(volume_id)
    sim.fail_call("create_volume_attachment")
    with pytest.raises(ProviderError, match="injected failure in create_volume_attachment"):
        await sim.compute.create_volume_attachment(server_id, volume_id)
    assert (await sim.block_storage.get_volume(volume_id)).status == "available"

    public = await sim.network.find_network("public")
    assert public is not None
    sim.fail_call("create_ip")
    with pytest.raises(ProviderError, match="injected failure in create_ip"):
        await sim.network.create_ip(FloatingIPSpec(public.id, "project-a"))
    assert await sim.network.ips() == []
    fip = await sim.network.create_ip(FloatingIPSpec(public.id, "project-a"))
    network, _ = await private_network(sim)
    port = await sim.network.create_port(PortSpec(network.id, "project-a"))
    sim.fail_call("update_ip")
    with pytest.raises(ProviderError, match="injected failure in update_ip"):
        await sim.network.update_ip(fip.id, port_id=port.id)
    assert (await sim.network.get_ip(fip.id)).port_id is None


async def test_fail_call_needs_a_positive_count(sim: SimulatorProvider) -> None:
    with pytest.raises(ValueError, match="count must be >= 1"):
        sim.fail_call("create_port", count=0)


async def test_clear_drops_pending_call_failures(sim: SimulatorProvider) -> None:
    sim.fail_call("create_volume", count=3)
    sim.faults.clear()
    assert (await sim.block_storage.create_volume(volume_spec())).status == "creating"

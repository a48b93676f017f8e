"""Resize, confirm and revert in the simulator: flavors, statuses and capacity."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sim_builders import MEDIUM, SMALL, TINY, FakeClock, server_spec

from stackgate.providers.base import FlavorSpec, ProviderBadRequest, ProviderConflict
from stackgate.providers.simulator import SimulatorProvider


async def active_server(sim: SimulatorProvider, flavor: FlavorSpec = SMALL) -> str:
    server_id = (await sim.compute.create_server(server_spec(flavor=flavor))).id
    assert (await sim.compute.get_server(server_id)).status == "ACTIVE"
    return server_id


async def test_resize_then_confirm_keeps_the_new_flavor(sim: SimulatorProvider) -> None:
    server_id = await active_server(sim)
    await sim.compute.resize_server(server_id, MEDIUM)
    server = await sim.compute.get_server(server_id)
    assert (server.status, server.vm_state, server.flavor) == ("VERIFY_RESIZE", "resized", MEDIUM)
    await sim.compute.confirm_server_resize(server_id)
    server = await sim.compute.get_server(server_id)
    assert (server.status, server.flavor, server.power_state) == ("ACTIVE", MEDIUM, 1)


async def test_revert_restores_the_old_flavor(sim: SimulatorProvider) -> None:
    server_id = await active_server(sim)
    await sim.compute.resize_server(server_id, MEDIUM)
    await sim.compute.revert_server_resize(server_id)
    server = await sim.compute.get_server(server_id)
    assert (server.status, server.flavor) == ("ACTIVE", SMALL)
    with pytest.raises(ProviderConflict):
        await sim.compute.confirm_server_resize(server_id)


async def test_a_stopped_server_resizes_and_stays_off(sim: SimulatorProvider) -> None:
    server_id = await active_server(sim)
    await sim.compute.stop_server(server_id)
    await sim.compute.resize_server(server_id, MEDIUM)
    server = await sim.compute.get_server(server_id)
    assert (server.status, server.power_state) == ("VERIFY_RESIZE", 4)
    await sim.compute.confirm_server_resize(server_id)
    assert (await sim.compute.get_server(server_id)).status == "SHUTOFF"


async def test_resize_to_the_same_flavor_is_a_bad_request(sim: SimulatorProvider) -> None:
    server_id = await active_server(sim)
    same_name = FlavorSpec(name=SMALL.name, vcpus=4, ram_mb=8192, disk_gb=80)
    for flavor in (SMALL, same_name):
        with pytest.raises(ProviderBadRequest, match="must change flavor") as caught:
            await sim.compute.resize_server(server_id, flavor)
        assert caught.value.status_code == 400
    assert (await sim.compute.get_server(server_id)).status == "ACTIVE"


async def test_resize_shows_progress_and_revert_shows_revert_resize(
    timed: SimulatorProvider, clock: FakeClock
) -> None:
    server_id = (await timed.compute.create_server(server_spec())).id
    clock.advance(6)
    await timed.compute.resize_server(server_id, MEDIUM)
    steps = []
    for _ in range(4):
        clock.advance(0.75)
        server = await timed.compute.get_server(server_id)
        steps.append(server.task_state)
        assert (server.status, server.flavor) == ("RESIZE", SMALL)
        clock.advance(0.75)
    assert steps == ["resize_prep", "resize_migrating", "resize_migrated", "resize_finish"]
    clock.advance(0.01)
    assert (await timed.compute.get_server(server_id)).status == "VERIFY_RESIZE"
    await timed.compute.revert_server_resize(server_id)
    assert (await timed.compute.get_server(server_id)).status == "REVERT_RESIZE"
    clock.advance(6)
    server = await timed.compute.get_server(server_id)
    assert (server.status, server.flavor) == ("ACTIVE", SMALL)


async def test_shrinking_the_disk_rolls_back(sim: SimulatorProvider) -> None:
    server_id = await active_server(sim, MEDIUM)
    await sim.compute.resize_server(server_id, TINY)
    server = await sim.compute.get_server(server_id)
    # The driver refuses; Nova puts the server back as it was, not in ERROR.
    assert (server.status, server.task_state, server.flavor, server.fault) == (
        "ACTIVE",
        None,
        MEDIUM,
        None,
    )


@pytest.fixture
async def small_cloud() -> AsyncIterator[SimulatorProvider]:
    provider = SimulatorProvider(
        database_url="sqlite+aiosqlite://",
        speed=0,
        hypervisors=1,
        hypervisor_vcpus=2,
        hypervisor_ram_mb=8192,
        hypervisor_disk_gb=100,
    )
    await provider.start()
    yield provider
    await provider.close()


async def test_resize_without_room_on_the_host_rolls_back(
    small_cloud: SimulatorProvider,
) -> None:
    server_id = await active_server(small_cloud)
    await active_server(small_cloud)
    await small_cloud.compute.resize_server(server_id, MEDIUM)
    server = await small_cloud.compute.get_server(server_id)
    # conductor _cold_migrate on NoValidHost: previous vm_state, task cleared.
    assert (server.status, server.task_state, server.flavor) == ("ACTIVE", None, SMALL)


async def test_a_resized_server_holds_both_flavors_until_confirmed(
    small_cloud: SimulatorProvider,
) -> None:
    server_id = await active_server(small_cloud, TINY)
    await small_cloud.compute.resize_server(server_id, MEDIUM)
    assert (await small_cloud.compute.get_server(server_id)).status == "VERIFY_RESIZE"
    (usage,) = await small_cloud.hypervisor_usage()
    assert usage.used.vcpus == 2
    await small_cloud.compute.revert_server_resize(server_id)
    (usage,) = await small_cloud.hypervisor_usage()
    assert usage.used.vcpus == 1

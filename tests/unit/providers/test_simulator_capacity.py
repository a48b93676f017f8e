"""Hypervisor capacity: no valid host, freed room after delete and shelve."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sim_builders import FIXED_DURATIONS, TINY, FakeClock, server_spec

from stackgate.providers.base import ProviderConflict
from stackgate.providers.simulator import SimulatorProvider

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."


@pytest.fixture
async def two_cpus() -> AsyncIterator[SimulatorProvider]:
    """One host with 2 vCPUs: two 1-vCPU servers fill it."""
    provider = SimulatorProvider(
        database_url="sqlite+aiosqlite://", speed=0, hypervisors=1, hypervisor_vcpus=2
    )
    await provider.start()
    yield provider
    await provider.close()


async def fill(sim: SimulatorProvider, count: int) -> list[str]:
    ids = [
        (await sim.compute.create_server(server_spec(f"vm-{i}", flavor=TINY))).id
        for i in range(count)
    ]
    for server_id in ids:
        await sim.compute.get_server(server_id)
    return ids


async def test_a_full_cloud_answers_no_valid_host(two_cpus: SimulatorProvider) -> None:
    first, second, third = await fill(two_cpus, 3)
    assert (await two_cpus.compute.get_server(first)).status == "ACTIVE"
    assert (await two_cpus.compute.get_server(second)).status == "ACTIVE"
    failed = await two_cpus.compute.get_server(third)
    assert (failed.status, failed.task_state, failed.host, failed.ip_address) == (
        "ERROR",
        None,
        None,
        None,
    )
    assert failed.launched_at is None
    assert failed.fault is not None
    assert (failed.fault.code, failed.fault.message) == (500, NO_VALID_HOST)
    # It never launched: only delete helps (nova must_have_launched).
    with pytest.raises(ProviderConflict):
        await two_cpus.compute.stop_server(third)
    with pytest.raises(ProviderConflict):
        await two_cpus.compute.reboot_server(third, "HARD")
    await two_cpus.compute.delete_server(third)
    assert third not in {s.id for s in await two_cpus.compute.servers()}


async def test_delete_frees_the_room(two_cpus: SimulatorProvider) -> None:
    first, _ = await fill(two_cpus, 2)
    await two_cpus.compute.delete_server(first)
    (replacement,) = await fill(two_cpus, 1)
    assert (await two_cpus.compute.get_server(replacement)).status == "ACTIVE"


async def test_shelve_frees_the_host_and_unshelve_may_find_no_room(
    two_cpus: SimulatorProvider,
) -> None:
    first, _ = await fill(two_cpus, 2)
    await two_cpus.compute.shelve_server(first)
    (usage,) = await two_cpus.hypervisor_usage()
    assert usage.used.vcpus == 1
    await fill(two_cpus, 1)
    await two_cpus.compute.unshelve_server(first)
    server = await two_cpus.compute.get_server(first)
    # conductor unshelve_instance on NoValidHost: task cleared, still offloaded.
    assert (server.status, server.task_state, server.host) == ("SHELVED_OFFLOADED", None, None)


async def test_servers_spread_over_hosts() -> None:
    provider = SimulatorProvider(database_url="sqlite+aiosqlite://", speed=0, hypervisors=3)
    await provider.start()
    try:
        await fill(provider, 3)
        hosts = {s.host for s in await provider.compute.servers()}
        assert hosts == {"sim-host-001", "sim-host-002", "sim-host-003"}
    finally:
        await provider.close()


async def test_a_cloud_without_hosts_builds_nothing() -> None:
    provider = SimulatorProvider(database_url="sqlite+aiosqlite://", speed=0, hypervisors=0)
    await provider.start()
    try:
        (server_id,) = await fill(provider, 1)
        assert (await provider.compute.get_server(server_id)).status == "ERROR"
    finally:
        await provider.close()


async def test_no_valid_host_fails_during_scheduling(clock: FakeClock) -> None:
    provider = SimulatorProvider(
        database_url="sqlite+aiosqlite://", hypervisors=0, durations=FIXED_DURATIONS, clock=clock
    )
    await provider.start()
    try:
        server_id = (await provider.compute.create_server(server_spec())).id
        clock.advance(1)
        server = await provider.compute.get_server(server_id)
        assert (server.status, server.task_state) == ("BUILD", "scheduling")
        clock.advance(1)
        assert (await provider.compute.get_server(server_id)).status == "ERROR"
    finally:
        await provider.close()

"""Seeded fault injection: failing operations, 503 answers and lost responses."""

from __future__ import annotations

import pytest
from sim_builders import server_spec

from stackgate.providers.base import ProviderTimeout, ProviderUnavailable
from stackgate.providers.simulator import SimulatorProvider


async def build_statuses(seed: int, count: int = 24) -> list[str]:
    provider = SimulatorProvider(
        database_url="sqlite+aiosqlite://", speed=0, seed=seed, failure_rate=0.5
    )
    await provider.start()
    try:
        ids = [
            (await provider.compute.create_server(server_spec(f"vm-{i}"))).id for i in range(count)
        ]
        return [(await provider.compute.get_server(i)).status for i in ids]
    finally:
        await provider.close()


async def test_the_same_seed_fails_the_same_operations() -> None:
    first = await build_statuses(seed=42)
    assert first == await build_statuses(seed=42)
    assert {"ACTIVE", "ERROR"} <= set(first)
    assert first != await build_statuses(seed=43)


async def test_a_failed_operation_ends_in_error_with_a_fault() -> None:
    provider = SimulatorProvider(database_url="sqlite+aiosqlite://", speed=0, seed=1)
    await provider.start()
    try:
        server_id = (await provider.compute.create_server(server_spec())).id
        await provider.compute.get_server(server_id)
        provider.fail_next()
        await provider.compute.stop_server(server_id)
        server = await provider.compute.get_server(server_id)
        assert (server.status, server.task_state) == ("ERROR", None)
        assert server.fault is not None
        assert (server.fault.code, server.fault.message) == (500, "Simulated failure during stop")
        # It had launched, so Nova lets it be stopped (or hard-rebooted) out of ERROR.
        await provider.compute.stop_server(server_id)
        server = await provider.compute.get_server(server_id)
        assert (server.status, server.fault) == ("SHUTOFF", None)
    finally:
        await provider.close()


async def test_a_failed_build_releases_its_host_and_address(sim: SimulatorProvider) -> None:
    sim.fail_next()
    server_id = (await sim.compute.create_server(server_spec())).id
    server = await sim.compute.get_server(server_id)
    assert (server.status, server.host, server.ip_address, server.launched_at) == (
        "ERROR",
        None,
        None,
        None,
    )
    assert server.fault is not None
    assert server.fault.message == "Simulated failure during create"
    assert all(u.used.vcpus == 0 for u in await sim.hypervisor_usage())


async def test_a_failed_delete_leaves_the_server_in_error(sim: SimulatorProvider) -> None:
    server_id = (await sim.compute.create_server(server_spec())).id
    await sim.compute.get_server(server_id)
    sim.fail_next()
    await sim.compute.delete_server(server_id)
    assert (await sim.compute.get_server(server_id)).status == "ERROR"
    await sim.compute.delete_server(server_id)
    assert await sim.compute.servers() == []


async def test_injected_api_errors_change_nothing(sim: SimulatorProvider) -> None:
    sim.inject_api_errors(2)
    for _ in range(2):
        with pytest.raises(ProviderUnavailable) as caught:
            await sim.compute.create_server(server_spec())
        assert caught.value.status_code == 503
        assert "503" in caught.value.message
        assert not isinstance(caught.value, ProviderTimeout)
    assert await sim.compute.servers() == []
    await sim.compute.create_server(server_spec())
    assert len(await sim.compute.servers()) == 1


async def test_api_error_rate_one_fails_every_call() -> None:
    provider = SimulatorProvider(database_url="sqlite+aiosqlite://", speed=0, api_error_rate=1.0)
    await provider.start()
    try:
        with pytest.raises(ProviderUnavailable):
            await provider.compute.servers()
        with pytest.raises(ProviderUnavailable):
            await provider.image.get_image("any")
        await provider.check()  # the readiness check is about the store, not the chaos
    finally:
        await provider.close()


async def test_a_lost_response_still_created_the_server(sim: SimulatorProvider) -> None:
    sim.lose_responses()
    with pytest.raises(ProviderTimeout):
        await sim.compute.create_server(server_spec(tags=("op-7",)))
    # The control plane finds it again by the tag it sent (DESIGN.md 5, ServerSpec.tags).
    (found,) = await sim.compute.servers(tags=("op-7",))
    assert found.status == "ACTIVE"


def test_rates_are_validated() -> None:
    with pytest.raises(ValueError, match="failure_rate"):
        SimulatorProvider(database_url="sqlite+aiosqlite://", failure_rate=1.5)
    with pytest.raises(ValueError, match="unknown simulator operation"):
        SimulatorProvider(database_url="sqlite+aiosqlite://", durations={"teleport": (1, 2)})
    with pytest.raises(ValueError, match="speed"):
        SimulatorProvider(database_url="sqlite+aiosqlite://", speed=-1)

"""Server lifecycle in the simulator: end states, progress and Nova's refusals."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from sim_builders import CIRROS, TINY, UBUNTU, FakeClock, server_spec

from stackgate.providers.base import (
    ImageSpec,
    Provider,
    ProviderBadRequest,
    ProviderConflict,
    ProviderNotFound,
    ServerSpec,
)
from stackgate.providers.simulator import SimulatorProvider


async def test_it_is_a_provider(sim: SimulatorProvider) -> None:
    provider: Provider = sim
    assert provider.name == "simulator"
    await provider.check()


async def test_create_answers_build_then_is_active_at_speed_zero(sim: SimulatorProvider) -> None:
    created = await sim.compute.create_server(server_spec(tags=("op-1",)))
    assert (created.status, created.vm_state, created.task_state) == (
        "BUILD",
        "building",
        "scheduling",
    )

    server = await sim.compute.get_server(created.id)

    assert (server.status, server.vm_state, server.task_state) == ("ACTIVE", "active", None)
    assert server.power_state == 1
    assert server.host is not None
    assert server.launched_at is not None
    assert server.fault is None
    assert server.tags == ("op-1",)
    assert server.image_id == CIRROS.id
    address = ipaddress.IPv4Address(server.ip_address)
    assert address in ipaddress.IPv4Network("10.0.0.0/16")
    assert str(address) not in ("10.0.0.0", "10.0.0.1", "10.0.255.255")


async def test_build_walks_scheduling_networking_spawning(
    timed: SimulatorProvider, clock: FakeClock
) -> None:
    server_id = (await timed.compute.create_server(server_spec())).id
    seen = []
    for _ in range(3):
        clock.advance(1.0)
        server = await timed.compute.get_server(server_id)
        seen.append((server.status, server.task_state))
        clock.advance(1.0)
    assert seen == [("BUILD", "scheduling"), ("BUILD", "networking"), ("BUILD", "spawning")]
    clock.advance(0.01)
    assert (await timed.compute.get_server(server_id)).status == "ACTIVE"


async def test_build_with_real_time() -> None:
    provider = SimulatorProvider(
        database_url="sqlite+aiosqlite://", speed=1, durations={"create": (0.05, 0.05)}
    )
    await provider.start()
    try:
        server_id = (await provider.compute.create_server(server_spec())).id
        assert (await provider.compute.get_server(server_id)).status == "BUILD"
        await asyncio.sleep(0.25)
        assert (await provider.compute.get_server(server_id)).status == "ACTIVE"
    finally:
        await provider.close()


async def active_server(sim: SimulatorProvider) -> str:
    server_id = (await sim.compute.create_server(server_spec())).id
    assert (await sim.compute.get_server(server_id)).status == "ACTIVE"
    return server_id


@pytest.mark.parametrize(
    ("steps", "status", "power"),
    [
        (["stop"], "SHUTOFF", 4),
        (["stop", "start"], "ACTIVE", 1),
        (["pause"], "PAUSED", 3),
        (["pause", "unpause"], "ACTIVE", 1),
        (["suspend"], "SUSPENDED", 7),
        (["suspend", "resume"], "ACTIVE", 1),
        (["reboot_soft"], "ACTIVE", 1),
        (["stop", "reboot_hard"], "ACTIVE", 1),
        (["pause", "reboot_hard"], "ACTIVE", 1),
        (["shelve"], "SHELVED_OFFLOADED", 4),
        (["shelve", "unshelve"], "ACTIVE", 1),
        (["stop", "shelve", "unshelve"], "ACTIVE", 1),
    ],
)
async def test_actions_end_where_nova_ends_them(
    sim: SimulatorProvider, steps: list[str], status: str, power: int
) -> None:
    server_id = await active_server(sim)
    for step in steps:
        if step.startswith("reboot_"):
            await sim.compute.reboot_server(server_id, step.removeprefix("reboot_").upper())
        else:
            await getattr(sim.compute, f"{step}_server")(server_id)
    server = await sim.compute.get_server(server_id)
    assert (server.status, server.power_state, server.task_state) == (status, power, None)
    assert (server.host is None) == (status == "SHELVED_OFFLOADED")


@pytest.mark.parametrize(
    ("setup", "call", "message"),
    [
        ([], "start", "vm_state active"),
        ([], "unpause", "vm_state active"),
        ([], "resume", "vm_state active"),
        ([], "confirm_server_resize", "vm_state active"),
        ([], "revert_server_resize", "vm_state active"),
        ([], "unshelve", "vm_state active"),
        (["stop"], "stop", "vm_state stopped"),
        (["stop"], "pause", "vm_state stopped"),
        (["pause"], "stop", "vm_state paused"),  # seed 000 allowed this; Nova does not
        (["pause"], "suspend", "vm_state paused"),
        (["suspend"], "pause", "vm_state suspended"),
        (["shelve"], "start", "vm_state shelved_offloaded"),
        (["shelve"], "create_server_image", "vm_state shelved_offloaded"),
    ],
)
async def test_invalid_actions_are_refused_with_409(
    sim: SimulatorProvider, setup: list[str], call: str, message: str
) -> None:
    server_id = await active_server(sim)
    for step in setup:
        await getattr(sim.compute, f"{step}_server")(server_id)
    before = await sim.compute.get_server(server_id)
    method = getattr(sim.compute, call if "_server" in call else f"{call}_server")
    args = (server_id, "snap") if call == "create_server_image" else (server_id,)
    with pytest.raises(ProviderConflict) as caught:
        await method(*args)
    assert caught.value.status_code == 409
    assert message in caught.value.message
    assert server_id in caught.value.message
    assert await sim.compute.get_server(server_id) == before


async def test_refusal_wording_follows_nova(sim: SimulatorProvider) -> None:
    server_id = await active_server(sim)
    await sim.compute.stop_server(server_id)
    with pytest.raises(
        ProviderConflict,
        match=(rf"^Cannot 'stop' instance {server_id} while it is in vm_state stopped$"),
    ):
        await sim.compute.stop_server(server_id)


async def test_a_running_task_refuses_a_second_action(
    timed: SimulatorProvider, clock: FakeClock
) -> None:
    server_id = (await timed.compute.create_server(server_spec())).id
    clock.advance(6)
    await timed.compute.stop_server(server_id)
    clock.advance(1)
    server = await timed.compute.get_server(server_id)
    # Nova keeps the status while powering off; only task_state shows the work.
    assert (server.status, server.task_state) == ("ACTIVE", "powering-off")
    with pytest.raises(ProviderConflict, match="task_state powering-off"):
        await timed.compute.pause_server(server_id)
    clock.advance(5)
    assert (await timed.compute.get_server(server_id)).status == "SHUTOFF"


async def test_build_refuses_everything_but_delete(timed: SimulatorProvider) -> None:
    server_id = (await timed.compute.create_server(server_spec())).id
    for call in ("stop_server", "pause_server", "shelve_server"):
        with pytest.raises(ProviderConflict, match="vm_state building"):
            await getattr(timed.compute, call)(server_id)
    await timed.compute.delete_server(server_id)
    assert (await timed.compute.get_server(server_id)).task_state == "deleting"


async def test_hard_reboot_overrides_a_soft_reboot(
    timed: SimulatorProvider, clock: FakeClock
) -> None:
    server_id = (await timed.compute.create_server(server_spec())).id
    clock.advance(6)
    await timed.compute.reboot_server(server_id, "SOFT")
    assert (await timed.compute.get_server(server_id)).status == "REBOOT"
    with pytest.raises(ProviderConflict):
        await timed.compute.reboot_server(server_id, "SOFT")
    await timed.compute.reboot_server(server_id, "HARD")
    server = await timed.compute.get_server(server_id)
    assert (server.status, server.task_state) == ("HARD_REBOOT", "rebooting_hard")
    clock.advance(6)
    assert (await timed.compute.get_server(server_id)).status == "ACTIVE"


async def test_unknown_reboot_type_is_a_bad_request(sim: SimulatorProvider) -> None:
    server_id = await active_server(sim)
    with pytest.raises(ProviderBadRequest):
        await sim.compute.reboot_server(server_id, "WARM")


async def test_rebuild_sets_the_image_and_a_stopped_server_stays_off(
    timed: SimulatorProvider, clock: FakeClock
) -> None:
    server_id = (await timed.compute.create_server(server_spec())).id
    clock.advance(6)
    await timed.compute.stop_server(server_id)
    clock.advance(6)
    new_image = ImageSpec(id="img-debian", name="debian")
    await timed.compute.rebuild_server(server_id, new_image)
    clock.advance(1)
    server = await timed.compute.get_server(server_id)
    assert (server.status, server.task_state, server.image_id) == (
        "REBUILD",
        "rebuilding",
        "img-debian",
    )
    clock.advance(5)
    server = await timed.compute.get_server(server_id)
    assert (server.status, server.image_id) == ("SHUTOFF", "img-debian")


async def test_image_too_big_for_the_flavor_is_a_bad_request(sim: SimulatorProvider) -> None:
    with pytest.raises(ProviderBadRequest, match="too small for requested image"):
        await sim.compute.create_server(
            ServerSpec(name="x", flavor=TINY, image=UBUNTU, project_id="project-a")
        )
    assert await sim.compute.servers() == []
    server_id = (await sim.compute.create_server(server_spec(flavor=TINY))).id
    await sim.compute.get_server(server_id)
    with pytest.raises(ProviderBadRequest):
        await sim.compute.rebuild_server(server_id, UBUNTU)


async def test_get_of_a_missing_server_is_404(sim: SimulatorProvider) -> None:
    with pytest.raises(ProviderNotFound) as caught:
        await sim.compute.get_server("no-such-server")
    assert caught.value.status_code == 404


async def test_delete_of_a_missing_server_is_a_no_op(sim: SimulatorProvider) -> None:
    await sim.compute.delete_server("no-such-server")


async def test_delete_during_a_running_task(timed: SimulatorProvider, clock: FakeClock) -> None:
    server_id = (await timed.compute.create_server(server_spec())).id
    clock.advance(6)
    await timed.compute.stop_server(server_id)
    clock.advance(1)
    await timed.compute.delete_server(server_id)
    server = await timed.compute.get_server(server_id)
    # The stop is abandoned; the status stays while deleting (Nova's _STATE_MAP).
    assert (server.status, server.task_state) == ("ACTIVE", "deleting")
    await timed.compute.delete_server(server_id)  # again while deleting: nothing changes
    clock.advance(5.9)
    assert (await timed.compute.get_server(server_id)).task_state == "deleting"
    clock.advance(0.1)
    with pytest.raises(ProviderNotFound):
        await timed.compute.get_server(server_id)
    assert await timed.compute.servers() == []


async def test_servers_filters_on_all_tags(sim: SimulatorProvider) -> None:
    first = await sim.compute.create_server(server_spec("a", tags=("op-1", "sg")))
    await sim.compute.create_server(server_spec("b", tags=("op-2", "sg")))
    assert {s.name for s in await sim.compute.servers()} == {"a", "b"}
    assert {s.name for s in await sim.compute.servers(tags=("sg",))} == {"a", "b"}
    found = await sim.compute.servers(tags=("op-1", "sg"))
    assert [s.id for s in found] == [first.id]
    assert found[0].status == "ACTIVE"  # listing applies finished operations too
    assert await sim.compute.servers(tags=("op-1", "op-2")) == []


async def test_fifty_servers_get_distinct_addresses(sim: SimulatorProvider) -> None:
    for index in range(50):
        await sim.compute.create_server(server_spec(f"vm-{index}"))
    servers = await sim.compute.servers()
    addresses = {s.ip_address for s in servers}
    assert len(servers) == 50
    assert len(addresses) == 50
    assert None not in addresses
    assert "10.0.0.1" not in addresses


async def test_a_lost_address_race_retries_with_another(
    sim: SimulatorProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stackgate.providers.simulator import placement

    picks = iter(["10.0.0.5", "10.0.0.5", "10.0.0.6"])

    async def scripted(*_: object) -> str:
        return next(picks)

    monkeypatch.setattr(placement, "pick_address", scripted)
    first = await sim.compute.create_server(server_spec("a"))
    second = await sim.compute.create_server(server_spec("b"))
    # The unique key refused the second 10.0.0.5; the create retried instead of failing.
    assert (first.ip_address, second.ip_address) == ("10.0.0.5", "10.0.0.6")


async def test_an_exhausted_pool_fails_the_build(
    sim: SimulatorProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stackgate.providers.simulator import placement

    async def exhausted(*_: object) -> None:
        return None

    monkeypatch.setattr(placement, "pick_address", exhausted)
    server_id = (await sim.compute.create_server(server_spec())).id
    server = await sim.compute.get_server(server_id)
    assert server.status == "ERROR"
    assert server.fault is not None and "allocate the network" in server.fault.message

"""The simulator's state lives in its database: restarts and several processes share it."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stackgate.config import Settings
from stackgate.providers.base import (
    FlavorSpec,
    ImageSpec,
    ProviderNotFound,
    ProviderUnavailable,
    ServerSpec,
)
from stackgate.providers.simulator import SimulatorProvider

SMALL = FlavorSpec(name="m1.small", vcpus=1, ram_mb=2048, disk_gb=20)


def spec(name: str = "vm", tags: tuple[str, ...] = ()) -> ServerSpec:
    return ServerSpec(
        name=name,
        flavor=SMALL,
        image=ImageSpec(id="img", name="cirros"),
        project_id="project-a",
        tags=tags,
    )


class StepClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current


def url_for(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    url = url_for(tmp_path / "nested" / "dir" / "simulator.db")
    first = SimulatorProvider(database_url=url, speed=0, seed=3)
    await first.start()
    server_id = (await first.compute.create_server(spec())).id
    await first.compute.stop_server(server_id)
    before = await first.compute.get_server(server_id)
    image_id = (await first.compute.create_server_image(server_id, "snap")).id
    await first.close()
    assert (tmp_path / "nested" / "dir" / "simulator.db").exists()

    second = SimulatorProvider(database_url=url, speed=0, seed=3)
    await second.start()
    try:
        after = await second.compute.get_server(server_id)
        assert (after.status, after.ip_address, after.host) == (
            "SHUTOFF",
            before.ip_address,
            before.host,
        )
        assert (await second.image.get_image(image_id)).status == "active"
        # Hypervisors are seeded once, not again on every start.
        assert len(await second.hypervisor_usage()) == 4
    finally:
        await second.close()


async def test_a_pending_operation_finishes_after_a_restart(tmp_path: Path) -> None:
    url = url_for(tmp_path / "simulator.db")
    clock = StepClock()
    first = SimulatorProvider(database_url=url, clock=clock, durations={"create": (5, 5)})
    await first.start()
    server_id = (await first.compute.create_server(spec())).id
    await first.close()

    clock.current += timedelta(seconds=10)
    second = SimulatorProvider(database_url=url, clock=clock)
    await second.start()
    try:
        server = await second.compute.get_server(server_id)
        assert server.status == "ACTIVE"
        assert server.launched_at == datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)
    finally:
        await second.close()


async def test_two_processes_share_one_cloud(tmp_path: Path) -> None:
    url = url_for(tmp_path / "simulator.db")
    api = SimulatorProvider(database_url=url, speed=0, hypervisors=1, hypervisor_vcpus=4)
    worker = SimulatorProvider(database_url=url, speed=0, hypervisors=1, hypervisor_vcpus=4)
    await api.start()
    await worker.start()
    try:
        created = await asyncio.gather(
            *(p.compute.create_server(spec(f"vm-{i}")) for i in range(5) for p in (api, worker))
        )
        servers = await api.compute.servers()
        assert len(servers) == 10
        statuses = sorted(s.status for s in servers)
        # Capacity is checked under the write lock: never more than the host holds.
        assert statuses == ["ACTIVE"] * 4 + ["ERROR"] * 6
        addresses = [s.ip_address for s in servers if s.status == "ACTIVE"]
        assert len(set(addresses)) == 4

        target = created[0].id
        await worker.compute.delete_server(target)
        with pytest.raises(ProviderNotFound):
            await api.compute.get_server(target)
    finally:
        await api.close()
        await worker.close()


async def test_check_fails_when_the_store_is_unreachable(tmp_path: Path) -> None:
    never_started = SimulatorProvider(database_url=url_for(tmp_path / "x.db"))
    with pytest.raises(ProviderUnavailable):
        await never_started.check()

    (tmp_path / "a-directory.db").mkdir()
    broken = SimulatorProvider(database_url=url_for(tmp_path / "a-directory.db"))
    with pytest.raises(ProviderUnavailable):
        await broken.start()
    with pytest.raises(ProviderUnavailable):
        await broken.check()


async def test_built_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        sim_database_url=f"sqlite:///{tmp_path / 'sim.db'}",
        sim_speed=0,
        sim_seed=11,
        sim_hypervisors=2,
        sim_hypervisor_vcpus=8,
        sim_durations={"confirm_resize": (0.1, 0.2)},
    )
    provider = SimulatorProvider.from_settings(settings)
    await provider.start()
    try:
        await provider.check()
        usage = await provider.hypervisor_usage()
        assert [(u.name, u.capacity.vcpus) for u in usage] == [
            ("sim-host-001", 8),
            ("sim-host-002", 8),
        ]
        server_id = (await provider.compute.create_server(spec())).id
        assert (await provider.compute.get_server(server_id)).status == "ACTIVE"
    finally:
        await provider.close()


_OTHER_PROCESS = """
import asyncio, sys
from stackgate.providers.base import FlavorSpec, ImageSpec, ServerSpec
from stackgate.providers.simulator import SimulatorProvider

async def main() -> None:
    sim = SimulatorProvider(database_url=sys.argv[1], speed=0, hypervisors=1,
                            hypervisor_vcpus=6)
    await sim.start()
    spec = ServerSpec(name="child", flavor=FlavorSpec("m1.small", 1, 2048, 20),
                      image=ImageSpec(id="img", name="cirros"), project_id="project-a")
    await asyncio.gather(*(sim.compute.create_server(spec) for _ in range(5)))
    await sim.close()

asyncio.run(main())
"""


async def test_another_process_shares_the_capacity(tmp_path: Path) -> None:
    url = url_for(tmp_path / "simulator.db")
    here = SimulatorProvider(database_url=url, speed=0, hypervisors=1, hypervisor_vcpus=6)
    await here.start()
    try:
        child = await asyncio.create_subprocess_exec(sys.executable, "-c", _OTHER_PROCESS, url)
        await asyncio.gather(*(here.compute.create_server(spec("parent")) for _ in range(5)))
        assert await child.wait() == 0
        servers = await here.compute.servers()
        assert sorted(s.name for s in servers) == ["child"] * 5 + ["parent"] * 5
        assert sorted(s.status for s in servers) == ["ACTIVE"] * 6 + ["ERROR"] * 4
        assert len({s.ip_address for s in servers if s.status == "ACTIVE"}) == 6
    finally:
        await here.close()

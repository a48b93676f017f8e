"""Three providers on one database (API and workers) firing mixed calls at the same servers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from stackgate.providers.base import (
    FlavorSpec,
    ImageSpec,
    ProviderBadRequest,
    ProviderConflict,
    ProviderNotFound,
    ServerSpec,
)
from stackgate.providers.simulator import SimulatorProvider
from stackgate.providers.simulator.tables import SimBase

TINY = FlavorSpec(name="m1.tiny", vcpus=1, ram_mb=512, disk_gb=5)
MEDIUM = FlavorSpec(name="m1.medium", vcpus=2, ram_mb=1024, disk_gb=10)
SPEC = ServerSpec(name="vm", flavor=TINY, image=ImageSpec(id="i", name="c"), project_id="p")
# Short real durations, so that calls land while operations are still running.
DURATIONS = {op: (0.005, 0.02) for op in ("create", "stop", "start", "delete", "resize")}
HOST_VCPUS = 10


async def test_mixed_calls_keep_the_cloud_consistent(database_url: str) -> None:
    providers = [
        SimulatorProvider(
            database_url=database_url,
            hypervisors=2,
            hypervisor_vcpus=HOST_VCPUS,
            durations=DURATIONS,
            speed=1,
        )
        for _ in range(3)
    ]
    for provider in providers:
        await provider.start()
    rng = random.Random(5)
    ids = [
        s.id
        for s in await asyncio.gather(
            *(providers[i % 3].compute.create_server(SPEC) for i in range(16))
        )
    ]
    unexpected: list[tuple[str, BaseException]] = []

    def calls(p: SimulatorProvider, sid: str) -> dict[str, Callable[[], Awaitable[object]]]:
        c = p.compute
        return {
            "get": lambda: c.get_server(sid),
            "list": lambda: c.servers(),
            "stop": lambda: c.stop_server(sid),
            "start": lambda: c.start_server(sid),
            "resize": lambda: c.resize_server(sid, MEDIUM),
            "confirm": lambda: c.confirm_server_resize(sid),
            "snapshot": lambda: c.create_server_image(sid, "snap"),
            "shelve": lambda: c.shelve_server(sid),
            "unshelve": lambda: c.unshelve_server(sid),
            "reboot": lambda: c.reboot_server(sid, "HARD"),
            "delete": lambda: c.delete_server(sid),
            "create": lambda: c.create_server(SPEC),
        }

    async def churn() -> None:
        for _ in range(25):
            options = calls(rng.choice(providers), rng.choice(ids))
            name = rng.choice(sorted(options))
            try:
                await options[name]()
            except (ProviderConflict, ProviderNotFound, ProviderBadRequest):
                pass  # Nova's refusals are part of the game
            except Exception as exc:
                unexpected.append((name, exc))
            await asyncio.sleep(rng.random() * 0.005)

    try:
        await asyncio.gather(*(churn() for _ in range(8)))
        assert unexpected == []
        await asyncio.sleep(0.05)
        assert all(u.used.vcpus <= HOST_VCPUS for u in await providers[0].hypervisor_usage())
        addresses = [s.ip_address for s in await providers[1].compute.servers() if s.ip_address]
        assert len(addresses) == len(set(addresses))
    finally:
        async with providers[0].store.engine.begin() as conn:
            await conn.run_sync(SimBase.metadata.drop_all)
        for provider in providers:
            await provider.close()

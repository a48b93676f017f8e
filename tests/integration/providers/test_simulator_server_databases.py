"""The simulator on the run's database (STACKGATE_TEST_DATABASE=sqlite|postgresql|mariadb).

Two providers stand for the API and the worker processes; row locks (FOR UPDATE) on the
server databases and BEGIN IMMEDIATE on SQLite keep capacity and addresses consistent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from stackgate.providers.base import FlavorSpec, ImageSpec, ProviderNotFound, ServerSpec
from stackgate.providers.simulator import SimulatorProvider
from stackgate.providers.simulator.tables import SimBase

TINY = FlavorSpec(name="m1.tiny", vcpus=1, ram_mb=512, disk_gb=5)
SPEC = ServerSpec(
    name="vm",
    flavor=TINY,
    image=ImageSpec(id="i", name="cirros"),
    project_id="project-a",
    tags=("shared",),
)


@pytest.fixture
async def pair(database_url: str) -> AsyncIterator[tuple[SimulatorProvider, SimulatorProvider]]:
    """Two providers on one database, as the API and worker processes would be."""
    providers = tuple(
        SimulatorProvider(database_url=database_url, speed=0, hypervisors=1, hypervisor_vcpus=3)
        for _ in range(2)
    )
    for provider in providers:
        await provider.start()
    try:
        yield providers[0], providers[1]
    finally:
        async with providers[0].store.engine.begin() as conn:
            await conn.run_sync(SimBase.metadata.drop_all)
        for provider in providers:
            await provider.close()


async def test_concurrent_calls_keep_capacity_and_addresses(
    pair: tuple[SimulatorProvider, SimulatorProvider],
) -> None:
    api, worker = pair
    created = await asyncio.gather(
        *(p.compute.create_server(SPEC) for _ in range(4) for p in (api, worker))
    )
    servers = await worker.compute.servers(tags=("shared",))
    assert sorted(s.status for s in servers) == ["ACTIVE"] * 3 + ["ERROR"] * 5
    assert len({s.ip_address for s in servers if s.ip_address}) == 3

    active = [s.id for s in servers if s.status == "ACTIVE"]
    await asyncio.gather(
        api.compute.stop_server(active[0]), worker.compute.create_server_image(active[1], "snap")
    )
    assert (await worker.compute.get_server(active[0])).status == "SHUTOFF"

    await asyncio.gather(*(p.compute.delete_server(c.id) for c in created for p in (api, worker)))
    for server in created:
        with pytest.raises(ProviderNotFound):
            await worker.compute.get_server(server.id)
    assert [u.used.vcpus for u in await api.hypervisor_usage()] == [0]

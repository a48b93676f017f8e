"""The simulated Neutron and Cinder on the run's database, with two processes racing.

Two providers stand for the API and the worker; the checks that matter under concurrency:
an address is allocated once, a project gets one default group, a volume attaches once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from stackgate.providers.base import (
    FlavorSpec,
    ImageSpec,
    ProviderBadRequest,
    ProviderConflict,
    ServerSpec,
)
from stackgate.providers.network import FixedIP, NetworkSpec, PortSpec, SubnetSpec
from stackgate.providers.simulator import SimulatorProvider
from stackgate.providers.simulator.tables import SimBase
from stackgate.providers.storage import VolumeSpec

TINY = FlavorSpec(name="m1.tiny", vcpus=1, ram_mb=512, disk_gb=5)


@pytest.fixture
async def pair(database_url: str) -> AsyncIterator[tuple[SimulatorProvider, SimulatorProvider]]:
    providers = tuple(
        SimulatorProvider(database_url=database_url, speed=0, seed=i) for i in range(2)
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


async def test_both_processes_see_one_public_network(
    pair: tuple[SimulatorProvider, SimulatorProvider],
) -> None:
    api, worker = pair
    assert [n.name for n in await api.network.networks()] == ["public"]
    assert await api.network.find_network("public") == await worker.network.find_network("public")


async def test_parallel_ports_on_a_small_subnet_get_distinct_addresses(
    pair: tuple[SimulatorProvider, SimulatorProvider],
) -> None:
    api, worker = pair
    network = await api.network.create_network(NetworkSpec("n", "project-a"))
    await api.network.create_subnet(
        SubnetSpec(network.id, "s", "10.20.0.0/28", "project-a", "10.20.0.1", ())
    )
    results = await asyncio.gather(
        *(
            p.network.create_port(PortSpec(network.id, "project-a"))
            for _ in range(8)
            for p in (api, worker)
        ),
        return_exceptions=True,
    )
    made = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    # A /28 has 13 addresses in its pool (.2-.14).
    assert len(made) == 13
    assert len({p.fixed_ips[0].ip_address for p in made}) == 13
    assert len(refused) == 3
    assert all(isinstance(e, ProviderConflict) for e in refused)


async def test_the_same_explicit_address_is_given_once(
    pair: tuple[SimulatorProvider, SimulatorProvider],
) -> None:
    api, worker = pair
    network = await api.network.create_network(NetworkSpec("n", "project-a"))
    subnet = await api.network.create_subnet(
        SubnetSpec(network.id, "s", "10.21.0.0/24", "project-a", "10.21.0.1", ())
    )
    wanted = PortSpec(network.id, "project-a", fixed_ips=(FixedIP(subnet.id, "10.21.0.9"),))
    results = await asyncio.gather(
        *(p.network.create_port(wanted) for _ in range(3) for p in (api, worker)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, ProviderConflict) for r in results if isinstance(r, BaseException))


async def test_a_project_gets_one_default_group_under_races(
    pair: tuple[SimulatorProvider, SimulatorProvider],
) -> None:
    api, worker = pair
    groups = await asyncio.gather(
        *(
            p.network.find_security_group("default", project_id="project-a")
            for _ in range(4)
            for p in (api, worker)
        )
    )
    assert len({g.id for g in groups if g is not None}) == 1
    [only] = await worker.network.security_groups()
    assert len(only.rules) == 4


async def test_a_volume_attaches_to_one_server_only(
    pair: tuple[SimulatorProvider, SimulatorProvider],
) -> None:
    api, worker = pair
    image = ImageSpec(id="i", name="cirros")
    servers = [
        await api.compute.create_server(ServerSpec(f"vm{i}", TINY, image, "project-a"))
        for i in range(2)
    ]
    for server in servers:
        await api.compute.get_server(server.id)
    volume = await api.block_storage.create_volume(VolumeSpec("v", 1, "project-a"))
    await worker.block_storage.get_volume(volume.id)
    results = await asyncio.gather(
        api.compute.create_volume_attachment(servers[0].id, volume.id),
        worker.compute.create_volume_attachment(servers[1].id, volume.id),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["ProviderBadRequest", "str"]
    assert any(isinstance(r, ProviderBadRequest) for r in results)
    [attachment] = (await worker.block_storage.get_volume(volume.id)).attachments
    assert attachment.device == "/dev/vdb"

"""Builders shared by the simulator tests (imported by module name: no tests package)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from stackgate.providers.base import FlavorSpec, ImageSpec, ServerSpec
from stackgate.providers.network import NetworkSpec, ProviderNetwork, ProviderSubnet, SubnetSpec
from stackgate.providers.simulator import SimulatorProvider
from stackgate.providers.simulator.timing import DEFAULT_DURATIONS
from stackgate.providers.storage import VolumeSpec

TINY = FlavorSpec(name="m1.tiny", vcpus=1, ram_mb=512, disk_gb=5, id="f-tiny")
SMALL = FlavorSpec(name="m1.small", vcpus=1, ram_mb=2048, disk_gb=20, id="f-small")
MEDIUM = FlavorSpec(name="m1.medium", vcpus=2, ram_mb=4096, disk_gb=40, id="f-medium")
CIRROS = ImageSpec(id="img-cirros", name="cirros")
UBUNTU = ImageSpec(id="img-ubuntu", name="ubuntu", min_disk_gb=10, min_ram_mb=1024)
FIXED_DURATIONS = {op: (6.0, 6.0) for op in DEFAULT_DURATIONS}


class FakeClock:
    """A clock that only moves when a test says so."""

    def __init__(self) -> None:
        self.current = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def server_spec(name: str = "vm", flavor: FlavorSpec = SMALL, **kwargs: Any) -> ServerSpec:
    return ServerSpec(name=name, flavor=flavor, image=CIRROS, project_id="project-a", **kwargs)


def volume_spec(
    name: str = "vol",
    size_gb: int = 1,
    *,
    image_id: str | None = None,
    volume_type: str | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
) -> VolumeSpec:
    return VolumeSpec(
        name=name,
        size_gb=size_gb,
        project_id="project-a",
        description=description,
        image_id=image_id,
        volume_type=volume_type,
        metadata=metadata or {},
    )


async def private_network(
    sim: SimulatorProvider,
    cidr: str = "10.0.0.0/24",
    *,
    gateway_ip: str | None = "10.0.0.1",
    pools: tuple[tuple[str, str], ...] = (),
    project_id: str = "project-a",
) -> tuple[ProviderNetwork, ProviderSubnet]:
    """A project network with one IPv4 subnet."""
    network = await sim.network.create_network(NetworkSpec(name="private", project_id=project_id))
    subnet = await sim.network.create_subnet(
        subnet_spec(network.id, cidr, gateway_ip=gateway_ip, pools=pools)
    )
    return network, subnet


def subnet_spec(
    network_id: str,
    cidr: str = "10.0.0.0/24",
    *,
    gateway_ip: str | None = "10.0.0.1",
    pools: tuple[tuple[str, str], ...] = (),
    tags: tuple[str, ...] = (),
) -> SubnetSpec:
    return SubnetSpec(
        network_id=network_id,
        name="private-subnet",
        cidr=cidr,
        project_id="project-a",
        gateway_ip=gateway_ip,
        allocation_pools=pools,
        tags=tags,
    )

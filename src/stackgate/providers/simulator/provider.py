"""SimulatorProvider: the default cloud, built from Settings or explicit arguments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.config import Settings
from stackgate.core.clock import Clock, SystemClock
from stackgate.providers.base import ComputeProvider, ImageProvider, Provider
from stackgate.providers.network import NetworkProvider
from stackgate.providers.simulator.block_storage import SimulatorBlockStorage
from stackgate.providers.simulator.compute import SimulatorCompute
from stackgate.providers.simulator.env import SimEnv
from stackgate.providers.simulator.faults import FaultInjector, derived_rng
from stackgate.providers.simulator.image import SimulatorImage
from stackgate.providers.simulator.lifecycle import settle_due
from stackgate.providers.simulator.network import SimulatorNetwork
from stackgate.providers.simulator.scheduler import Resources, capacity_of, usage
from stackgate.providers.simulator.store import Store
from stackgate.providers.simulator.subnets import seed_rows
from stackgate.providers.simulator.tables import SimHypervisor
from stackgate.providers.simulator.timing import Timing
from stackgate.providers.storage import BlockStorageProvider

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/simulator.db"


@dataclass(frozen=True, slots=True)
class HypervisorUsage:
    """One host's capacity and what its servers hold."""

    name: str
    capacity: Resources
    used: Resources


class SimulatorProvider:
    """A model of an OpenStack cloud kept in its own database (DESIGN.md 6)."""

    name = "simulator"
    compute: ComputeProvider
    image: ImageProvider
    block_storage: BlockStorageProvider
    network: NetworkProvider

    def __init__(
        self,
        *,
        database_url: str = DEFAULT_DATABASE_URL,
        speed: float = 1.0,
        failure_rate: float = 0.0,
        api_error_rate: float = 0.0,
        seed: int | None = None,
        hypervisors: int = 4,
        hypervisor_vcpus: int = 64,
        hypervisor_ram_mb: int = 262_144,
        hypervisor_disk_gb: int = 4_000,
        durations: Mapping[str, tuple[float, float] | Sequence[float]] | None = None,
        clock: Clock | None = None,
    ) -> None:
        if hypervisors < 0:
            raise ValueError("hypervisors must be >= 0")
        self._hosts = [
            (f"sim-host-{i:03d}", hypervisor_vcpus, hypervisor_ram_mb, hypervisor_disk_gb)
            for i in range(1, hypervisors + 1)
        ]
        self.faults = FaultInjector(
            failure_rate=failure_rate, api_error_rate=api_error_rate, seed=seed
        )
        self.store = Store(database_url)
        self._env = SimEnv(
            store=self.store,
            faults=self.faults,
            timing=Timing(speed=speed, durations=durations, rng=derived_rng(seed, "timing")),
            clock=clock or SystemClock(),
            ipam_rng=derived_rng(seed, "ipam"),
            net_rng=derived_rng(seed, "network"),
        )
        self.compute = SimulatorCompute(self._env)
        self.image = SimulatorImage(self._env)
        self.block_storage = SimulatorBlockStorage(self._env)
        self.network = SimulatorNetwork(self._env)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None) -> SimulatorProvider:
        """The provider the product runs, configured by the STACKGATE_SIM_* variables."""
        return cls(
            database_url=settings.sim_database_url,
            speed=settings.sim_speed,
            failure_rate=settings.sim_failure_rate,
            api_error_rate=settings.sim_api_error_rate,
            seed=settings.sim_seed,
            hypervisors=settings.sim_hypervisors,
            hypervisor_vcpus=settings.sim_hypervisor_vcpus,
            hypervisor_ram_mb=settings.sim_hypervisor_ram_mb,
            hypervisor_disk_gb=settings.sim_hypervisor_disk_gb,
            durations=settings.sim_durations,
            clock=clock,
        )

    async def start(self) -> None:
        """Open the store, create its tables and seed the hypervisors and the shared external
        network `public` where they are missing."""
        await self.store.start(
            [SimHypervisor(name=n, vcpus=c, ram_mb=r, disk_gb=d) for n, c, r, d in self._hosts],
            seed_rows(self._env.clock.now()),
        )

    async def close(self) -> None:
        """Release the store's connections."""
        await self.store.close()

    async def check(self) -> None:
        """Raise ProviderUnavailable unless the store answers."""
        await self.store.check()

    def inject_api_errors(self, count: int = 1) -> None:
        """Test hook: the next `count` API calls answer 503 without changing anything."""
        self.faults.inject_api_errors(count)

    def fail_call(self, name: str, count: int = 1) -> None:
        """Test hook: the next `count` calls of the proxy method `name` (any proxy, e.g.
        "create_port", "create_volume", "create_server") raise ProviderError('injected failure
        in <name>', status_code=500) before changing anything."""
        self.faults.fail_call(name, count)

    def fail_next(self, count: int = 1) -> None:
        """Test hook: the next `count` operations started end in a failure."""
        self.faults.fail_next(count)

    def lose_responses(self, count: int = 1) -> None:
        """Test hook: the next `count` changing calls take effect, then raise ProviderTimeout."""
        self.faults.lose_responses(count)

    async def hypervisor_usage(self) -> list[HypervisorUsage]:
        """Capacity and use per host, as the scheduler sees them."""

        async def work(session: AsyncSession) -> list[HypervisorUsage]:
            await settle_due(session, self._env.clock.now())
            stmt = select(SimHypervisor).order_by(SimHypervisor.name)
            hosts = (await session.scalars(stmt)).all()
            used = await usage(session)
            zero = Resources()
            return [HypervisorUsage(h.name, capacity_of(h), used.get(h.name, zero)) for h in hosts]

        return await self.store.run(work, write=True)


if TYPE_CHECKING:
    _conforms: type[Provider] = SimulatorProvider

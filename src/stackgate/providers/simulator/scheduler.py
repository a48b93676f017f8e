"""Host choice with capacity (a small nova-scheduler: filter on room, weigh by free RAM)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.providers.simulator.tables import SimHypervisor, SimServer
from stackgate.semantics.nova import Action

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."


@dataclass(frozen=True, slots=True)
class Resources:
    vcpus: int = 0
    ram_mb: int = 0
    disk_gb: int = 0

    @classmethod
    def of(cls, flavor: Mapping[str, Any], *, disk: bool = True) -> Resources:
        """What a flavor takes on a host; `disk=False` for a server booted from a volume."""
        disk_gb = int(flavor["disk_gb"]) if disk else 0
        return cls(int(flavor["vcpus"]), int(flavor["ram_mb"]), disk_gb)

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            self.vcpus + other.vcpus, self.ram_mb + other.ram_mb, self.disk_gb + other.disk_gb
        )

    def __sub__(self, other: Resources) -> Resources:
        return Resources(
            self.vcpus - other.vcpus, self.ram_mb - other.ram_mb, self.disk_gb - other.disk_gb
        )

    def widest(self, other: Resources) -> Resources:
        """Per-dimension maximum: what a server holds while it has two flavors."""
        return Resources(
            max(self.vcpus, other.vcpus),
            max(self.ram_mb, other.ram_mb),
            max(self.disk_gb, other.disk_gb),
        )

    def fits_in(self, room: Resources) -> bool:
        return (
            self.vcpus <= room.vcpus and self.ram_mb <= room.ram_mb and self.disk_gb <= room.disk_gb
        )


def capacity_of(hypervisor: SimHypervisor) -> Resources:
    return Resources(hypervisor.vcpus, hypervisor.ram_mb, hypervisor.disk_gb)


def footprint(server: SimServer) -> Resources:
    """What a server holds on its host; during a resize both flavors, so a revert always fits."""
    disk = server.boot_volume_id is None  # a boot volume holds the root disk, not the host
    held = Resources.of(server.flavor, disk=disk)
    if server.old_flavor is not None:
        held = held.widest(Resources.of(server.old_flavor, disk=disk))
    if server.action == Action.RESIZE and "flavor" in server.params:
        held = held.widest(Resources.of(server.params["flavor"], disk=disk))
    return held


async def lock_hypervisors(session: AsyncSession) -> list[SimHypervisor]:
    """Every capacity-taking call locks the hosts first, always in name order."""
    stmt = select(SimHypervisor).order_by(SimHypervisor.name).with_for_update()
    return list((await session.scalars(stmt)).all())


async def usage(session: AsyncSession, *, exclude: str | None = None) -> dict[str, Resources]:
    """Resources in use per host."""
    # Offloading clears a shelved server's host and unshelving sets it before the server is
    # ACTIVE, so the servers holding room are exactly those with a host.
    stmt = select(SimServer).where(SimServer.host.is_not(None))
    used: dict[str, Resources] = {}
    for server in (await session.scalars(stmt)).all():
        if server.id == exclude or server.host is None:
            continue
        used[server.host] = used.get(server.host, Resources()) + footprint(server)
    return used


def choose_host(
    hypervisors: Sequence[SimHypervisor],
    used: Mapping[str, Resources],
    need: Resources,
    *,
    only: str | None = None,
) -> str | None:
    """The host with room for `need` and the most free RAM (Nova's default RAM weigher spreads)."""
    best: tuple[tuple[int, int], str] | None = None
    for hypervisor in hypervisors:
        if only is not None and hypervisor.name != only:
            continue
        free = capacity_of(hypervisor) - used.get(hypervisor.name, Resources())
        if not need.fits_in(free):
            continue
        # Hosts come in name order and only a strictly better one wins: ties are stable.
        weight = (free.ram_mb, free.vcpus)
        if best is None or weight > best[0]:
            best = (weight, hypervisor.name)
    return None if best is None else best[1]

"""The images Glance shows: DevStack's four (the ids StackGate seeds), images made through
Glance's API, and snapshots the simulated Nova made (their status comes from the simulator)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.ids import stable_id
from stackgate.fakecloud.auth import Caller
from stackgate.fakecloud.cloud import FakeCloud, fixed_id
from stackgate.providers.base import ImageSpec, ProviderNotFound
from stackgate.providers.simulator.tables import SimImageRecord

_SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)
# (name, os_distro, min_disk GB, min_ram MB, size bytes): migrations/.../initial.py IMAGES.
_BUILT_IN = (
    ("cirros-0.6", "cirros", 0, 0, 21_430_272),
    ("ubuntu-22.04", "ubuntu", 3, 512, 660_000_768),
    ("debian-12", "debian", 2, 512, 350_000_128),
    ("fedora-40", "fedora", 5, 1024, 520_000_000),
)


@dataclass(frozen=True, slots=True)
class Image:
    id: str
    name: str | None
    status: str
    visibility: str
    owner: str | None
    min_disk: int = 0
    min_ram: int = 0
    size: int | None = None
    disk_format: str | None = None
    container_format: str | None = None
    protected: bool = False
    tags: tuple[str, ...] = ()
    properties: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = _SEEDED_AT
    updated_at: datetime = _SEEDED_AT

    def spec(self) -> ImageSpec:
        return ImageSpec(
            id=self.id, name=self.name or "", min_disk_gb=self.min_disk, min_ram_mb=self.min_ram
        )


BUILT_IN = tuple(
    Image(
        id=stable_id(f"image/{name}"),
        name=name,
        status="active",
        visibility="public",
        owner=fixed_id("project", "admin"),
        min_disk=min_disk,
        min_ram=min_ram,
        size=size,
        disk_format="qcow2",
        container_format="bare",
        properties={"os_distro": distro},
    )
    for name, distro, min_disk, min_ram, size in _BUILT_IN
)


def _of(row: SimImageRecord) -> Image:
    return Image(
        id=row.id,
        name=row.name,
        status=row.status,
        visibility=row.visibility,
        owner=row.owner,
        min_disk=row.min_disk,
        min_ram=row.min_ram,
        size=row.size,
        disk_format=row.disk_format,
        container_format=row.container_format,
        protected=row.protected,
        tags=tuple(row.tags),
        properties=dict(row.properties),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _records(cloud: FakeCloud, image_id: str | None = None) -> list[SimImageRecord]:
    async def work(session: AsyncSession) -> list[SimImageRecord]:
        stmt = select(SimImageRecord).order_by(SimImageRecord.created_at, SimImageRecord.id)
        if image_id is not None:
            stmt = stmt.where(SimImageRecord.id == image_id)
        return list((await session.scalars(stmt)).all())

    return await cloud.sim.store.run(work)


async def _current(cloud: FakeCloud, row: SimImageRecord) -> Image | None:
    """A record as Glance shows it now; a snapshot asks the simulator (which finishes it, or
    drops it when its snapshot failed)."""
    image = _of(row)
    if not row.snapshot:
        return image
    try:
        found = await cloud.sim.image.get_image(row.id)
    except ProviderNotFound:
        return None
    return replace(image, status=found.status, size=found.size_bytes, name=found.name)


async def all_images(cloud: FakeCloud) -> list[Image]:
    rows = await _records(cloud)
    hidden = {r.id for r in rows}
    images = [i for i in BUILT_IN if i.id not in hidden]
    for row in rows:
        if not row.deleted:
            current = await _current(cloud, row)
            if current is not None:
                images.append(current)
    return images


async def find_image(cloud: FakeCloud, image_id: str) -> Image | None:
    rows = await _records(cloud, image_id)
    if rows:
        return None if rows[0].deleted else await _current(cloud, rows[0])
    return next((i for i in BUILT_IN if i.id == image_id), None)


def can_see(caller: Caller, image: Image) -> bool:
    """Glance's visibility: public and community for all, private and shared for the owner
    (members are not modelled), everything for an admin."""
    return (
        caller.is_admin
        or image.visibility in ("public", "community")
        or image.owner == caller.project_id
    )


def is_built_in(image_id: str) -> bool:
    return any(i.id == image_id for i in BUILT_IN)

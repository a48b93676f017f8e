"""Volume and snapshot storage; every statement starts from the caller's project. The unit of
work that carries both repositories is here too, shared by volumes and snapshots."""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.block_storage.models import Volume, VolumeSnapshot
from stackgate.core.operations import Operation, OpState
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.repository import like_pattern, paginate
from stackgate.core.uow import UnitOfWork

VOLUME_SORTS = {
    "created_at": Volume.created_at,
    "updated_at": Volume.updated_at,
    "name": Volume.name,
    "status": Volume.status,
    "size": Volume.size_gb,
}
SNAPSHOT_SORTS = {
    "created_at": VolumeSnapshot.created_at,
    "name": VolumeSnapshot.name,
    "status": VolumeSnapshot.status,
}


@dataclass(frozen=True, slots=True)
class VolumeFilters:
    status: str | None = None
    name: str | None = None


class VolumeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, project_id: str, volume_id: str) -> Volume | None:
        volume = await self.session.get(Volume, volume_id)
        return volume if volume is not None and volume.project_id == project_id else None

    async def ids(self, project_id: str) -> Sequence[str]:
        """The ids of the project's volumes (the close matches of an unknown one)."""
        stmt = select(Volume.id).where(Volume.project_id == project_id)
        return (await self.session.scalars(stmt)).all()

    async def get_unscoped(self, volume_id: str) -> Volume | None:
        """Any project's volume: for the worker, the compute integration and admins."""
        return await self.session.get(Volume, volume_id, populate_existing=True)

    async def list(
        self, project_id: str, *, filters: VolumeFilters, page: PageRequest
    ) -> PageResult[Volume]:
        stmt = select(Volume).where(Volume.project_id == project_id)
        if filters.status:
            stmt = stmt.where(Volume.status == filters.status)
        if filters.name:
            stmt = stmt.where(Volume.name.ilike(like_pattern(filters.name), escape="\\"))
        return await paginate(
            self.session, stmt, columns=VOLUME_SORTS, id_column=Volume.id, request=page
        )

    def add(self, volume: Volume) -> None:
        self.session.add(volume)

    async def remove(self, volume: Volume) -> None:
        await self.session.delete(volume)

    async def of_servers(self, server_ids: Sequence[str]) -> dict[str, builtins.list[Volume]]:
        """Volumes reserved by or attached to each server, ordered by device."""
        result: dict[str, builtins.list[Volume]] = defaultdict(builtins.list)
        if not server_ids:
            return {}
        stmt = select(Volume).where(Volume.server_id.in_(list(server_ids)))
        for volume in (await self.session.scalars(stmt)).all():
            assert volume.server_id is not None
            result[volume.server_id].append(volume)
        for volumes in result.values():
            volumes.sort(key=lambda v: (v.device or "/dev/vd~", v.id))
        return dict(result)

    async def usage(self, project_id: str) -> dict[str, int]:
        """volumes, snapshots and gigabytes (volumes plus snapshots, as Cinder counts)."""
        volumes = (
            await self.session.execute(
                select(func.count(), func.coalesce(func.sum(Volume.size_gb), 0)).where(
                    Volume.project_id == project_id
                )
            )
        ).one()
        snapshots = (
            await self.session.execute(
                select(func.count(), func.coalesce(func.sum(VolumeSnapshot.size_gb), 0)).where(
                    VolumeSnapshot.project_id == project_id
                )
            )
        ).one()
        # An extend holds its growth from the request until the worker records the new size.
        pending = await self.session.scalars(
            select(Operation.params).where(
                Operation.project_id == project_id,
                Operation.resource_type == "volume",
                Operation.action == "extend",
                Operation.state == OpState.PENDING,
            )
        )
        growing = sum(
            max(0, int(p.get("new_size", 0)) - int(p.get("old_size", 0))) for p in pending.all()
        )
        return {
            "volumes": int(volumes[0]),
            "snapshots": int(snapshots[0]),
            "gigabytes": int(volumes[1]) + int(snapshots[1]) + growing,
        }


class SnapshotRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, project_id: str, snapshot_id: str) -> VolumeSnapshot | None:
        snapshot = await self.session.get(VolumeSnapshot, snapshot_id)
        return snapshot if snapshot is not None and snapshot.project_id == project_id else None

    async def get_unscoped(self, snapshot_id: str) -> VolumeSnapshot | None:
        return await self.session.get(VolumeSnapshot, snapshot_id, populate_existing=True)

    async def list(
        self,
        project_id: str,
        *,
        volume_id: str | None,
        status: str | None,
        page: PageRequest,
    ) -> PageResult[VolumeSnapshot]:
        stmt = select(VolumeSnapshot).where(VolumeSnapshot.project_id == project_id)
        if volume_id:
            stmt = stmt.where(VolumeSnapshot.volume_id == volume_id)
        if status:
            stmt = stmt.where(VolumeSnapshot.status == status)
        return await paginate(
            self.session,
            stmt,
            columns=SNAPSHOT_SORTS,
            id_column=VolumeSnapshot.id,
            request=page,
        )

    async def count_of(self, volume_id: str) -> int:
        stmt = (
            select(func.count())
            .select_from(VolumeSnapshot)
            .where(VolumeSnapshot.volume_id == volume_id)
        )
        return int(await self.session.scalar(stmt) or 0)

    def add(self, snapshot: VolumeSnapshot) -> None:
        self.session.add(snapshot)

    async def remove(self, snapshot: VolumeSnapshot) -> None:
        await self.session.delete(snapshot)


class BlockStorageUoW(UnitOfWork):
    volumes: VolumeRepository
    snapshots: SnapshotRepository

    def _attach(self, session: AsyncSession) -> None:
        self.volumes = VolumeRepository(session)
        self.snapshots = SnapshotRepository(session)

"""Volume snapshot use cases: /api/v1/volume-snapshots (one unit of work each)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.block_storage.errors import (
    InvalidVolumeRef,
    SnapshotNotFound,
    check_snapshot_delete,
    check_volume,
)
from stackgate.block_storage.models import VolumeSnapshot
from stackgate.block_storage.repository import BlockStorageUoW
from stackgate.block_storage.snapshots.schemas import SnapshotCreate
from stackgate.block_storage.volumes.service import volume_usage
from stackgate.core.clock import Clock
from stackgate.core.context import RequestContext
from stackgate.core.ids import new_id
from stackgate.core.operations import Operation, OperationFactory
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.identity.public import policy, quotas
from stackgate.semantics import cinder
from stackgate.semantics.cinder import SnapshotStatus


class SnapshotService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Clock,
        operations: OperationFactory,
        wakeup: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._operations = operations
        self._wakeup = wakeup

    def uow(self) -> BlockStorageUoW:
        return BlockStorageUoW(self._sessionmaker)

    @staticmethod
    async def load(uow: BlockStorageUoW, ctx: RequestContext, snapshot_id: str) -> VolumeSnapshot:
        if ctx.is_admin:
            snapshot = await uow.snapshots.get_unscoped(snapshot_id)
        else:
            snapshot = await uow.snapshots.get(ctx.project_id, snapshot_id)
        if snapshot is None:
            raise SnapshotNotFound(snapshot_id)
        return snapshot

    def _operation(
        self,
        ctx: RequestContext,
        snapshot: VolumeSnapshot,
        action: str,
        *,
        now: datetime,
        force: bool = False,
    ) -> Operation:
        return self._operations.due_now(
            project_id=snapshot.project_id,
            user_id=ctx.user_id,
            request_id=ctx.request_id,
            resource_type="volume_snapshot",
            resource_id=snapshot.id,
            action=action,
            params={"volume_id": snapshot.volume_id, "force": force},
            now=now,
        )

    async def create(self, ctx: RequestContext, data: SnapshotCreate) -> VolumeSnapshot:
        """A snapshot of an available volume (in-use with force=true): creating, then
        available; snapshots and gigabytes quota enforced."""
        policy.enforce(ctx, "volume:create")
        async with self.uow() as uow:
            if ctx.is_admin:
                volume = await uow.volumes.get_unscoped(data.volume_id)
            else:
                volume = await uow.volumes.get(ctx.project_id, data.volume_id)
            if volume is None:
                raise InvalidVolumeRef(
                    "volume_id", data.volume_id, await uow.volumes.ids(ctx.project_id)
                )
            check_volume(cinder.snapshot_op(data.force), volume.status, volume_id=volume.id)
            await quotas.enforce(
                uow,
                volume.project_id,
                {"snapshots": 1, "gigabytes": volume.size_gb},
                volume_usage,
            )
            now = self._clock.now()
            snapshot = VolumeSnapshot(
                id=new_id(),
                project_id=volume.project_id,
                user_id=ctx.user_id,
                volume_id=volume.id,
                name=data.name or "",
                description=data.description,
                size_gb=volume.size_gb,
                status=SnapshotStatus.CREATING,
                created_at=now,
                updated_at=now,
            )
            uow.snapshots.add(snapshot)
            uow.operations.add(self._operation(ctx, snapshot, "create", now=now, force=data.force))
            await uow.commit()
        self._wakeup()
        return snapshot

    async def get(self, ctx: RequestContext, snapshot_id: str) -> VolumeSnapshot:
        policy.enforce(ctx, "volume:read")
        async with self.uow() as uow:
            return await self.load(uow, ctx, snapshot_id)

    async def list(
        self,
        ctx: RequestContext,
        *,
        volume_id: str | None,
        status: str | None,
        page: PageRequest,
    ) -> PageResult[VolumeSnapshot]:
        policy.enforce(ctx, "volume:read")
        async with self.uow() as uow:
            return await uow.snapshots.list(
                ctx.project_id, volume_id=volume_id, status=status, page=page
            )

    async def delete(self, ctx: RequestContext, snapshot_id: str) -> VolumeSnapshot:
        """available or error -> deleting; the row goes once the cloud has deleted it."""
        policy.enforce(ctx, "volume:delete")
        async with self.uow() as uow:
            snapshot = await self.load(uow, ctx, snapshot_id)
            if snapshot.status == SnapshotStatus.DELETING:
                return snapshot
            check_snapshot_delete(snapshot.status, snapshot_id=snapshot.id)
            now = self._clock.now()
            for op in await uow.operations.open_for_resource(snapshot.id):
                op.cancel("superseded by delete", now=now)
            snapshot.status = SnapshotStatus.DELETING
            snapshot.updated_at = now
            uow.operations.add(self._operation(ctx, snapshot, "delete", now=now))
            await uow.commit()
        self._wakeup()
        return snapshot

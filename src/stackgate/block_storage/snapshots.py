"""Volume snapshot use cases: /api/v1/volume-snapshots."""

from __future__ import annotations

from stackgate.block_storage import states
from stackgate.block_storage.errors import InvalidVolumeRef, SnapshotNotFound
from stackgate.block_storage.models import VolumeSnapshot
from stackgate.block_storage.schemas import SnapshotCreate
from stackgate.block_storage.service import BlockStorageUoW, new_operation, volume_usage
from stackgate.block_storage.states import SnapshotStatus
from stackgate.block_storage.volumes import VolumeService
from stackgate.core.context import RequestContext
from stackgate.core.ids import new_id
from stackgate.core.operations import Operation
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.identity import policy, quotas


class SnapshotService:
    def __init__(self, volumes: VolumeService) -> None:
        self._volumes = volumes

    async def load(
        self, uow: BlockStorageUoW, ctx: RequestContext, snapshot_id: str
    ) -> VolumeSnapshot:
        if ctx.is_admin:
            snapshot = await uow.snapshots.get_unscoped(snapshot_id)
        else:
            snapshot = await uow.snapshots.get(ctx.project_id, snapshot_id)
        if snapshot is None:
            raise SnapshotNotFound(snapshot_id)
        return snapshot

    def _operation(
        self, ctx: RequestContext, snapshot: VolumeSnapshot, action: str, *, force: bool = False
    ) -> Operation:
        return new_operation(
            project_id=snapshot.project_id,
            user_id=ctx.user_id,
            request_id=ctx.request_id,
            resource_type="volume_snapshot",
            resource_id=snapshot.id,
            action=action,
            params={"volume_id": snapshot.volume_id, "force": force},
            now=self._volumes.clock.now(),
            timeout=self._volumes.config.operation_timeout,
        )

    async def create(self, ctx: RequestContext, data: SnapshotCreate) -> VolumeSnapshot:
        """A snapshot of an available volume (in-use with force=true): creating, then
        available; snapshots and gigabytes quota enforced."""
        policy.enforce(ctx, "volume:create")
        async with self._volumes.uow() as uow:
            if ctx.is_admin:
                volume = await uow.volumes.get_unscoped(data.volume_id)
            else:
                volume = await uow.volumes.get(ctx.project_id, data.volume_id)
            if volume is None:
                raise InvalidVolumeRef("volume_id", data.volume_id)
            states.check_volume(states.snapshot_op(data.force), volume.status, volume_id=volume.id)
            await quotas.enforce(
                uow,
                volume.project_id,
                {"snapshots": 1, "gigabytes": volume.size_gb},
                volume_usage,
            )
            now = self._volumes.clock.now()
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
            uow.operations.add(self._operation(ctx, snapshot, "create", force=data.force))
            await uow.commit()
        self._volumes.wake()
        return snapshot

    async def get(self, ctx: RequestContext, snapshot_id: str) -> VolumeSnapshot:
        policy.enforce(ctx, "volume:read")
        async with self._volumes.uow() as uow:
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
        async with self._volumes.uow() as uow:
            return await uow.snapshots.list(
                ctx.project_id, volume_id=volume_id, status=status, page=page
            )

    async def delete(self, ctx: RequestContext, snapshot_id: str) -> VolumeSnapshot:
        """available or error -> deleting; the row goes once the cloud has deleted it."""
        policy.enforce(ctx, "volume:delete")
        async with self._volumes.uow() as uow:
            snapshot = await self.load(uow, ctx, snapshot_id)
            if snapshot.status == SnapshotStatus.DELETING:
                return snapshot
            states.check_snapshot_delete(snapshot.status, snapshot_id=snapshot.id)
            for op in await uow.operations.open_for_resource(snapshot.id):
                op.cancel("superseded by delete")
            snapshot.status = SnapshotStatus.DELETING
            snapshot.updated_at = self._volumes.clock.now()
            uow.operations.add(self._operation(ctx, snapshot, "delete"))
            await uow.commit()
        self._volumes.wake()
        return snapshot

"""Worker side of volume snapshot operations: drive Cinder (create, delete), then record."""

from __future__ import annotations

from stackgate.block_storage.handlers import (
    CinderDetail,
    CinderHandler,
    CinderOutcome,
    Facts,
    outcome,
)
from stackgate.block_storage.models import VolumeSnapshot
from stackgate.block_storage.repository import BlockStorageUoW
from stackgate.core.operations import Operation
from stackgate.core.tags import metadata_for
from stackgate.providers.base import ProviderNotFound
from stackgate.semantics.cinder import SnapshotStatus
from stackgate.worker.handler import Kind


class SnapshotOperationHandler(CinderHandler[VolumeSnapshot]):
    resource_type = "volume_snapshot"

    async def row(self, uow: BlockStorageUoW, row_id: str) -> VolumeSnapshot | None:
        return await uow.snapshots.get_unscoped(row_id)

    async def facts(self, uow: BlockStorageUoW, op: Operation, row: VolumeSnapshot) -> Facts:
        volume = await uow.volumes.get_unscoped(row.volume_id)
        return Facts(
            action=op.action,
            phase=op.phase,
            params=dict(op.params),
            row_id=row.id,
            provider_id=row.provider_id,
            name=row.name or f"snapshot-{row.id}",
            size_gb=row.size_gb,
            project_id=row.project_id,
            volume_provider_id=volume.provider_id if volume is not None else None,
        )

    async def drive(self, facts: Facts) -> CinderOutcome:
        f = facts
        storage = self._provider.block_storage
        pid = f.provider_id
        if pid is None:
            found = await storage.snapshots(metadata=metadata_for(f.row_id))
            pid = found[0].id if found else None
        adopted = None if pid == f.provider_id else pid
        if f.action == "create":
            if pid is None:
                if f.volume_provider_id is None:
                    return outcome(Kind.FAILED, "the volume is not in the cloud")
                created = await storage.create_snapshot(
                    f.volume_provider_id,
                    f.name,
                    metadata=metadata_for(f.row_id),
                    force=bool(f.params.get("force", False)),
                )
                pid = adopted = created.id
            try:
                current = await storage.get_snapshot(pid)
            except ProviderNotFound:
                return outcome(Kind.FAILED, "the snapshot disappeared from the cloud")
            if current.status == "available":
                step = outcome(Kind.DONE)
            elif current.status == "creating":
                step = outcome(Kind.PROGRESS)
            else:
                step = outcome(Kind.FAILED, f"the cloud could not snapshot ({current.status})")
        elif f.action == "delete":
            step = await self._delete(f, pid)
        else:
            step = outcome(Kind.FAILED, f"unsupported snapshot action {f.action}")
        detail = step.detail or CinderDetail()
        detail.provider_id = detail.provider_id or adopted
        step.detail = detail
        return step

    async def _delete(self, f: Facts, pid: str | None) -> CinderOutcome:
        storage = self._provider.block_storage
        if pid is None:
            return outcome(Kind.GONE)
        try:
            current = await storage.get_snapshot(pid)
        except ProviderNotFound:
            return outcome(Kind.GONE)
        if f.phase == "submit":
            if current.status == "creating":
                return outcome(Kind.PROGRESS, "waiting for the snapshot to be made")
            try:
                await storage.delete_snapshot(pid)
                await storage.get_snapshot(pid)
            except ProviderNotFound:
                return outcome(Kind.GONE)
            return outcome(Kind.PROGRESS, phase="poll")
        if current.status == "error_deleting":
            return outcome(Kind.FAILED, "the cloud could not delete the snapshot")
        return outcome(Kind.PROGRESS)

    def apply(self, row: VolumeSnapshot, facts: Facts, outcome: CinderOutcome) -> bool:
        if facts.action == "delete":
            return True
        if outcome.kind == Kind.GONE:
            row.status = SnapshotStatus.ERROR
            return False
        row.status = SnapshotStatus.AVAILABLE
        return False

"""Worker side of volume and snapshot operations: drive Cinder, then record what it did.

As in compute/handlers.py, each step reads the operation (short transaction), calls the cloud
with no transaction open, then writes the outcome in a second short transaction that first
checks the operation is still ours. Every step is safe to repeat: a create first looks for the
resource by our metadata, a delete of something gone is done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from stackgate.block_storage.models import Volume, VolumeSnapshot
from stackgate.block_storage.service import BlockStorageUoW
from stackgate.block_storage.states import SnapshotStatus, VolumeStatus
from stackgate.core.errors import ConcurrentUpdate
from stackgate.core.operations import Operation, OpResult, OpState
from stackgate.core.tags import metadata_for
from stackgate.providers.base import (
    ProviderBadRequest,
    ProviderConflict,
    ProviderError,
    ProviderNotFound,
    ProviderUnavailable,
)
from stackgate.providers.storage import VolumeSpec
from stackgate.worker.base import ProviderHandler

log = structlog.get_logger("stackgate.worker")

# Cloud statuses in which a volume is busy: a delete waits them out.
_CLOUD_BUSY = frozenset(
    {"creating", "downloading", "extending", "reserved", "attaching", "in-use", "detaching"}
)


@dataclass(slots=True)
class Facts:
    """What a step needs, copied out so no transaction stays open during cloud calls."""

    op_id: str
    action: str
    phase: str
    params: dict[str, Any]
    deadline: datetime
    row_id: str
    provider_id: str | None
    name: str
    size_gb: int
    project_id: str
    description: str | None = None
    volume_type: str | None = None
    volume_provider_id: str | None = None  # snapshots: the volume's cloud id


@dataclass(slots=True)
class Step:
    kind: str  # "progress" | "retry" | "done" | "failed" | "gone"
    message: str | None = None
    status: str | None = None  # on failure: the status to show (default error)
    updates: dict[str, Any] = field(default_factory=dict)


class _Handler(ProviderHandler):
    resource_type = ""

    async def _load(self, uow: BlockStorageUoW, row_id: str) -> Volume | VolumeSnapshot | None:
        raise NotImplementedError

    async def _facts(self, uow: BlockStorageUoW, op: Operation, row: Any) -> Facts:
        raise NotImplementedError

    async def _drive(self, f: Facts) -> Step:
        raise NotImplementedError

    def _apply(self, row: Any, f: Facts, step: Step) -> bool:
        """Record a finished step on the row; True when the row is to be removed."""
        raise NotImplementedError

    async def handle(self, op_id: str, owner: str) -> None:
        """Advance one operation by one step."""
        async with BlockStorageUoW(self._sessionmaker) as uow:
            op = await uow.operations.get(op_id)
            if op is None or op.lease_owner != owner:
                return
            if op.state != OpState.PENDING:  # cancelled since we claimed it
                op.lease_owner = op.lease_until = None
                await uow.commit()
                return
            row = await self._load(uow, op.resource_id)
            if row is None:
                done = op.action == "delete"
                op.finish(
                    OpResult.SUCCESS if done else OpResult.ERROR,
                    None if done else f"{self.resource_type} row missing",
                )
                await uow.commit()
                return
            facts = await self._facts(uow, op, row)
            now = self._clock.now()
            # A delete waits while a step of another operation (a create that may be making
            # the resource right now) runs, so it can find what that step made.
            busy = op.action == "delete" and await uow.operations.leased_for_resource(
                row.id, now=now, exclude=op.id
            )
        if busy:
            step = Step("progress")
        elif now >= facts.deadline:
            step = Step("failed", message=f"{facts.action} did not finish within its deadline")
        else:
            try:
                step = await self._drive(facts)
            except ProviderUnavailable as exc:
                step = Step("retry", message=f"cloud unavailable: {exc.message}")
            except ProviderError as exc:
                step = Step("failed", message=exc.message)
        for _ in range(3):
            try:
                await self._record(op_id, owner, facts, step)
                break
            except ConcurrentUpdate:
                continue  # a request changed the row meanwhile: write again on the fresh row

    async def _record(self, op_id: str, owner: str, f: Facts, step: Step) -> None:
        now = self._clock.now()
        async with BlockStorageUoW(self._sessionmaker) as uow:
            op = await uow.operations.get(op_id)
            if op is None or op.lease_owner != owner:
                return  # our lease was lost: the new owner decides
            if op.state != OpState.PENDING:
                op.lease_owner = op.lease_until = None
                await uow.commit()
                return
            row = await self._load(uow, f.row_id)
            if row is None:
                op.finish(OpResult.SUCCESS if f.action == "delete" else OpResult.ERROR)
                await uow.commit()
                return
            if "provider_id" in step.updates:
                row.provider_id = step.updates["provider_id"]
            if "phase" in step.updates:
                op.phase = step.updates["phase"]
            match step.kind:
                case "progress" | "retry":
                    delay = self._backoff(op.attempts if step.kind == "retry" else 0)
                    op.next_attempt_at = now + timedelta(seconds=delay)
                    op.lease_owner = op.lease_until = None
                    if step.message:
                        op.message = step.message
                case "done" | "gone":
                    if self._apply(row, f, step):
                        await uow.session.delete(row)
                    else:
                        row.error_message = None
                        row.updated_at = now
                    op.finish(OpResult.SUCCESS)
                case _:
                    message = step.message or f"{f.action} failed"
                    row.status = step.status or "error"
                    row.error_message = message[:2000]
                    row.updated_at = now
                    op.finish(OpResult.ERROR, message)
            await uow.commit()
        log.info(
            "operation_step",
            op_id=op_id,
            resource_type=self.resource_type,
            action=f.action,
            kind=step.kind,
            resource_id=f.row_id,
            message=step.message,
        )


class VolumeOperationHandler(_Handler):
    resource_type = "volume"

    async def _load(self, uow: BlockStorageUoW, row_id: str) -> Volume | None:
        return await uow.volumes.get_unscoped(row_id)

    async def _facts(self, uow: BlockStorageUoW, op: Operation, row: Any) -> Facts:
        return Facts(
            op_id=op.id,
            action=op.action,
            phase=op.phase,
            params=dict(op.params),
            deadline=op.deadline_at,
            row_id=row.id,
            provider_id=row.provider_id,
            name=row.name or f"volume-{row.id}",
            size_gb=row.size_gb,
            project_id=row.project_id,
            description=row.description,
            volume_type=row.volume_type,
        )

    async def _find(self, f: Facts) -> str | None:
        """Our volume's cloud id: recorded, or found by the metadata carrying our id."""
        if f.provider_id is not None:
            return f.provider_id
        found = await self._provider.block_storage.volumes(metadata=metadata_for(f.row_id))
        return found[0].id if found else None

    async def _drive(self, f: Facts) -> Step:
        storage = self._provider.block_storage
        pid = await self._find(f)
        updates: dict[str, Any] = {} if pid == f.provider_id else {"provider_id": pid}
        if f.action == "create":
            if pid is None:
                created = await storage.create_volume(
                    VolumeSpec(
                        name=f.name,
                        size_gb=f.size_gb,
                        project_id=f.project_id,
                        description=f.description,
                        image_id=f.params.get("image_ref"),
                        volume_type=f.volume_type,
                        metadata=metadata_for(f.row_id),
                    )
                )
                pid = created.id
                updates["provider_id"] = pid
            step = await self._poll_create(pid)
        elif f.action == "delete":
            step = await self._delete(f, pid)
        elif f.action == "extend":
            step = await self._extend(f, pid)
        else:
            step = Step("failed", message=f"unsupported volume action {f.action}")
        step.updates = updates | step.updates
        return step

    async def _poll_create(self, pid: str) -> Step:
        try:
            current = await self._provider.block_storage.get_volume(pid)
        except ProviderNotFound:
            return Step("failed", message="the volume disappeared from the cloud")
        if current.status == "available":
            return Step("done")
        if current.status in ("creating", "downloading"):
            return Step("progress")
        return Step("failed", message=f"the cloud could not create the volume ({current.status})")

    async def _delete(self, f: Facts, pid: str | None) -> Step:
        storage = self._provider.block_storage
        if pid is None:
            return Step("gone")  # the cloud never had it
        try:
            current = await storage.get_volume(pid)
        except ProviderNotFound:
            return Step("gone")
        if f.phase == "submit":
            if current.status in _CLOUD_BUSY:
                return Step("progress", message=f"waiting for the volume ({current.status})")
            try:
                await storage.delete_volume(pid)
            except ProviderNotFound:
                return Step("gone")
            except (ProviderBadRequest, ProviderConflict) as exc:
                return Step("retry", message=f"the cloud refused the delete: {exc.message}")
            try:
                current = await storage.get_volume(pid)
            except ProviderNotFound:
                return Step("gone")
            return Step("progress", updates={"phase": "poll"})
        if current.status == "error_deleting":
            return Step("failed", message="the cloud could not delete the volume")
        return Step("progress")

    async def _extend(self, f: Facts, pid: str | None) -> Step:
        storage = self._provider.block_storage
        if pid is None:
            return Step("failed", status="error", message="the volume is not in the cloud")
        new_size = int(f.params["new_size"])
        current = await storage.get_volume(pid)
        if f.phase == "submit" and current.size_gb < new_size and current.status != "extending":
            try:
                await storage.extend_volume(pid, new_size)
            except ProviderBadRequest as exc:
                # Refused: nothing changed in the cloud, the volume is as it was.
                return Step("failed", status=VolumeStatus.AVAILABLE, message=exc.message)
            current = await storage.get_volume(pid)
        moved = {"phase": "poll"}
        if current.status == "extending":
            return Step("progress", updates=moved)
        if current.status == "available" and current.size_gb >= new_size:
            return Step("done", updates=moved)
        if current.status == "available":
            return Step(
                "failed", status=VolumeStatus.AVAILABLE, message="the extend did not take effect"
            )
        return Step("failed", message=f"the cloud could not extend the volume ({current.status})")

    def _apply(self, row: Any, f: Facts, step: Step) -> bool:
        volume: Volume = row
        if f.action == "delete":
            return True
        if step.kind == "gone":
            volume.status = VolumeStatus.ERROR
            return False
        if f.action == "extend":
            volume.size_gb = int(f.params["new_size"])
        if volume.status in (VolumeStatus.CREATING, VolumeStatus.EXTENDING):
            volume.status = VolumeStatus.AVAILABLE
        return False


class SnapshotOperationHandler(_Handler):
    resource_type = "volume_snapshot"

    async def _load(self, uow: BlockStorageUoW, row_id: str) -> VolumeSnapshot | None:
        return await uow.snapshots.get_unscoped(row_id)

    async def _facts(self, uow: BlockStorageUoW, op: Operation, row: Any) -> Facts:
        volume = await uow.volumes.get_unscoped(row.volume_id)
        return Facts(
            op_id=op.id,
            action=op.action,
            phase=op.phase,
            params=dict(op.params),
            deadline=op.deadline_at,
            row_id=row.id,
            provider_id=row.provider_id,
            name=row.name or f"snapshot-{row.id}",
            size_gb=row.size_gb,
            project_id=row.project_id,
            volume_provider_id=volume.provider_id if volume is not None else None,
        )

    async def _drive(self, f: Facts) -> Step:
        storage = self._provider.block_storage
        pid = f.provider_id
        if pid is None:
            found = await storage.snapshots(metadata=metadata_for(f.row_id))
            pid = found[0].id if found else None
        updates: dict[str, Any] = {} if pid == f.provider_id else {"provider_id": pid}
        if f.action == "create":
            if pid is None:
                if f.volume_provider_id is None:
                    return Step("failed", message="the volume is not in the cloud")
                created = await storage.create_snapshot(
                    f.volume_provider_id,
                    f.name,
                    metadata=metadata_for(f.row_id),
                    force=bool(f.params.get("force", False)),
                )
                pid = created.id
                updates["provider_id"] = pid
            try:
                current = await storage.get_snapshot(pid)
            except ProviderNotFound:
                return Step("failed", message="the snapshot disappeared from the cloud")
            if current.status == "available":
                step = Step("done")
            elif current.status == "creating":
                step = Step("progress")
            else:
                step = Step("failed", message=f"the cloud could not snapshot ({current.status})")
        elif f.action == "delete":
            step = await self._delete(f, pid)
        else:
            step = Step("failed", message=f"unsupported snapshot action {f.action}")
        step.updates = updates | step.updates
        return step

    async def _delete(self, f: Facts, pid: str | None) -> Step:
        storage = self._provider.block_storage
        if pid is None:
            return Step("gone")
        try:
            current = await storage.get_snapshot(pid)
        except ProviderNotFound:
            return Step("gone")
        if f.phase == "submit":
            if current.status == "creating":
                return Step("progress", message="waiting for the snapshot to be made")
            try:
                await storage.delete_snapshot(pid)
                await storage.get_snapshot(pid)
            except ProviderNotFound:
                return Step("gone")
            return Step("progress", updates={"phase": "poll"})
        if current.status == "error_deleting":
            return Step("failed", message="the cloud could not delete the snapshot")
        return Step("progress")

    def _apply(self, row: Any, f: Facts, step: Step) -> bool:
        snapshot: VolumeSnapshot = row
        if f.action == "delete":
            return True
        if step.kind == "gone":
            snapshot.status = SnapshotStatus.ERROR
            return False
        snapshot.status = SnapshotStatus.AVAILABLE
        return False

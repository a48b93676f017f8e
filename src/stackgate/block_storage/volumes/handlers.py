"""Worker side of volume operations: drive Cinder (create, delete, extend), then record."""

from __future__ import annotations

from stackgate.block_storage.handlers import (
    CinderDetail,
    CinderHandler,
    CinderOutcome,
    Facts,
    outcome,
)
from stackgate.block_storage.models import Volume
from stackgate.block_storage.repository import BlockStorageUoW
from stackgate.core.operations import Operation
from stackgate.core.tags import metadata_for
from stackgate.providers.base import ProviderBadRequest, ProviderConflict, ProviderNotFound
from stackgate.providers.storage import VolumeSpec
from stackgate.semantics.cinder import CLOUD_BUSY, VolumeStatus
from stackgate.worker.handler import Kind


class VolumeOperationHandler(CinderHandler[Volume]):
    resource_type = "volume"

    async def row(self, uow: BlockStorageUoW, row_id: str) -> Volume | None:
        return await uow.volumes.get_unscoped(row_id)

    async def facts(self, uow: BlockStorageUoW, op: Operation, row: Volume) -> Facts:
        return Facts(
            action=op.action,
            phase=op.phase,
            params=dict(op.params),
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

    async def drive(self, facts: Facts) -> CinderOutcome:
        f = facts
        storage = self._provider.block_storage
        pid = await self._find(f)
        adopted = None if pid == f.provider_id else pid
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
                pid = adopted = created.id
            step = await self._poll_create(pid)
        elif f.action == "delete":
            step = await self._delete(f, pid)
        elif f.action == "extend":
            step = await self._extend(f, pid)
        else:
            step = outcome(Kind.FAILED, f"unsupported volume action {f.action}")
        detail = step.detail or CinderDetail()
        detail.provider_id = detail.provider_id or adopted
        step.detail = detail
        return step

    async def _poll_create(self, pid: str) -> CinderOutcome:
        try:
            current = await self._provider.block_storage.get_volume(pid)
        except ProviderNotFound:
            return outcome(Kind.FAILED, "the volume disappeared from the cloud")
        if current.status == "available":
            return outcome(Kind.DONE)
        if current.status in ("creating", "downloading"):
            return outcome(Kind.PROGRESS)
        return outcome(Kind.FAILED, f"the cloud could not create the volume ({current.status})")

    async def _delete(self, f: Facts, pid: str | None) -> CinderOutcome:
        storage = self._provider.block_storage
        if pid is None:
            return outcome(Kind.GONE)  # the cloud never had it
        try:
            current = await storage.get_volume(pid)
        except ProviderNotFound:
            return outcome(Kind.GONE)
        if f.phase == "submit":
            if current.status in CLOUD_BUSY:
                return outcome(Kind.PROGRESS, f"waiting for the volume ({current.status})")
            try:
                await storage.delete_volume(pid)
            except ProviderNotFound:
                return outcome(Kind.GONE)
            except (ProviderBadRequest, ProviderConflict) as exc:
                return outcome(Kind.RETRY, f"the cloud refused the delete: {exc.message}")
            try:
                current = await storage.get_volume(pid)
            except ProviderNotFound:
                return outcome(Kind.GONE)
            return outcome(Kind.PROGRESS, phase="poll")
        if current.status == "error_deleting":
            return outcome(Kind.FAILED, "the cloud could not delete the volume")
        return outcome(Kind.PROGRESS)

    async def _extend(self, f: Facts, pid: str | None) -> CinderOutcome:
        storage = self._provider.block_storage
        if pid is None:
            return outcome(Kind.FAILED, "the volume is not in the cloud", status="error")
        new_size = int(f.params["new_size"])
        current = await storage.get_volume(pid)
        if f.phase == "submit" and current.size_gb < new_size and current.status != "extending":
            try:
                await storage.extend_volume(pid, new_size)
            except ProviderBadRequest as exc:
                # Refused: nothing changed in the cloud, the volume is as it was.
                return outcome(Kind.FAILED, exc.message, status=VolumeStatus.AVAILABLE)
            current = await storage.get_volume(pid)
        if current.status == "extending":
            return outcome(Kind.PROGRESS, phase="poll")
        if current.status == "available" and current.size_gb >= new_size:
            return outcome(Kind.DONE, phase="poll")
        if current.status == "available":
            return outcome(
                Kind.FAILED, "the extend did not take effect", status=VolumeStatus.AVAILABLE
            )
        return outcome(Kind.FAILED, f"the cloud could not extend the volume ({current.status})")

    def apply(self, row: Volume, facts: Facts, outcome: CinderOutcome) -> bool:
        if facts.action == "delete":
            return True
        if outcome.kind == Kind.GONE:
            row.status = VolumeStatus.ERROR
            return False
        if facts.action == "extend":
            row.size_gb = int(facts.params["new_size"])
        if row.status in (VolumeStatus.CREATING, VolumeStatus.EXTENDING):
            row.status = VolumeStatus.AVAILABLE
        return False

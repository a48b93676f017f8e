"""Volume use cases: /api/v1/volumes and /api/v1/volume-types (one unit of work each), and the
checks and steps the functions other features call share with them (block_storage.public)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.block_storage.errors import (
    InvalidNewSize,
    UnknownImage,
    VolumeAttached,
    VolumeHasSnapshots,
    VolumeNotFound,
    VolumeTooSmall,
    check_volume,
    resolve_volume_type,
)
from stackgate.block_storage.models import Volume
from stackgate.block_storage.repository import BlockStorageUoW, VolumeFilters, VolumeRepository
from stackgate.block_storage.volumes.schemas import (
    VolumeCreate,
    VolumeRead,
    VolumeTypeRead,
    VolumeUpdate,
)
from stackgate.catalog import public as catalog
from stackgate.core.clock import Clock
from stackgate.core.context import RequestContext
from stackgate.core.errors import ConcurrentUpdate, InvalidInput
from stackgate.core.idempotency import IdempotencyScope, StoredResponse
from stackgate.core.ids import new_id, stable_id
from stackgate.core.operations import Operation, OperationFactory
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.uow import UnitOfWork
from stackgate.identity.public import policy, quotas
from stackgate.semantics import cinder
from stackgate.semantics.cinder import VolumeOp, VolumeStatus


async def volume_usage(uow: UnitOfWork, project_id: str) -> dict[str, int]:
    """volumes, gigabytes (volumes + snapshots, as Cinder counts) and snapshots in use."""
    return await VolumeRepository(uow.session).usage(project_id)


def provider_image_ref(image: catalog.Image) -> str:
    """What the cloud knows the image as: a snapshot's Glance id, else the catalog id."""
    return image.provider_id or image.id


async def image_for_volume(uow: UnitOfWork, ctx: RequestContext, ref: str) -> catalog.Image:
    try:
        return await catalog.resolve_image(uow, ctx, ref)
    except InvalidInput as exc:
        raise UnknownImage(ref, exc.detail.removeprefix("image: ")) from exc


def check_fits(size_gb: int, min_disk_gb: int, field: str = "size") -> None:
    if size_gb < min_disk_gb:
        raise VolumeTooSmall(size_gb, min_disk_gb, field)


async def enforce_quota(uow: UnitOfWork, project_id: str, deltas: dict[str, int]) -> None:
    await quotas.enforce(uow, project_id, deltas, volume_usage)


def queue_delete(
    uow: UnitOfWork,
    volume: Volume,
    operations: OperationFactory,
    *,
    user_id: str | None,
    request_id: str | None,
) -> None:
    """Status deleting and the delete operation, stamped with one instant."""
    now = operations.clock.now()
    volume.status = VolumeStatus.DELETING
    volume.updated_at = now
    uow.operations.add(
        operations.due_now(
            project_id=volume.project_id,
            user_id=user_id,
            request_id=request_id,
            resource_type="volume",
            resource_id=volume.id,
            action="delete",
            now=now,
        )
    )


class VolumeService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Clock,
        operations: OperationFactory,
        idempotency_ttl: timedelta = timedelta(hours=24),
        wakeup: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._operations = operations
        self._idempotency_ttl = idempotency_ttl
        self._wakeup = wakeup

    def uow(self) -> BlockStorageUoW:
        return BlockStorageUoW(self._sessionmaker)

    @staticmethod
    async def load(uow: BlockStorageUoW, ctx: RequestContext, volume_id: str) -> Volume:
        """The caller's volume (the cloud admin reaches every project's); else 404."""
        if ctx.is_admin:
            volume = await uow.volumes.get_unscoped(volume_id)
        else:
            volume = await uow.volumes.get(ctx.project_id, volume_id)
        if volume is None:
            raise VolumeNotFound(volume_id)
        return volume

    def operation(
        self,
        ctx: RequestContext,
        volume: Volume,
        action: str,
        params: dict[str, Any] | None = None,
        *,
        now: datetime,
    ) -> Operation:
        return self._operations.due_now(
            project_id=volume.project_id,
            user_id=ctx.user_id,
            request_id=ctx.request_id,
            resource_type="volume",
            resource_id=volume.id,
            action=action,
            params=params,
            now=now,
        )

    async def create(
        self, ctx: RequestContext, data: VolumeCreate, *, idempotency_key: str | None = None
    ) -> Volume | StoredResponse:
        """Accept a volume: a creating row and its create operation in one transaction."""
        policy.enforce(ctx, "volume:create")
        volume_type = resolve_volume_type(data.volume_type)
        scope = IdempotencyScope.of_request(
            ctx.project_id, "POST", "/api/v1/volumes", idempotency_key, data.model_dump(mode="json")
        )
        async with self.uow() as uow:
            now = self._clock.now()
            if scope is not None:
                stored = await uow.idempotency.find(scope, now=now)
                if stored is not None:
                    return stored
            image = None
            if data.image is not None:
                image = await image_for_volume(uow, ctx, data.image)
                check_fits(data.size, image.min_disk_gb)
            await enforce_quota(uow, ctx.project_id, {"volumes": 1, "gigabytes": data.size})
            volume = Volume(
                id=new_id(),
                project_id=ctx.project_id,
                user_id=ctx.user_id,
                name=data.name or "",
                description=data.description,
                size_gb=data.size,
                volume_type=volume_type,
                status=VolumeStatus.CREATING,
                image_id=image.id if image else None,
                bootable=image is not None,
                is_root=False,
                delete_on_termination=False,
                created_at=now,
                updated_at=now,
            )
            uow.volumes.add(volume)
            params = {"image_ref": provider_image_ref(image)} if image else {}
            uow.operations.add(self.operation(ctx, volume, "create", params, now=now))
            await uow.flush()
            replayed = await uow.commit_idempotent(
                scope,
                lambda: StoredResponse(
                    202, VolumeRead.model_validate(volume).model_dump(mode="json"), volume.id
                ),
                now=now,
                expires_at=now + self._idempotency_ttl,
            )
            if replayed is not None:
                return replayed
        self._wakeup()
        return volume

    def volume_types(self, ctx: RequestContext) -> list[VolumeTypeRead]:
        """The seeded volume types (constants: no table, no transaction)."""
        policy.enforce(ctx, "volume:read")
        return [
            VolumeTypeRead(
                id=stable_id(f"volume_type/{name}"),
                name=name,
                description=description,
                is_default=name == cinder.DEFAULT_VOLUME_TYPE,
            )
            for name, description in cinder.VOLUME_TYPES.items()
        ]

    async def get(self, ctx: RequestContext, volume_id: str) -> Volume:
        policy.enforce(ctx, "volume:read")
        async with self.uow() as uow:
            return await self.load(uow, ctx, volume_id)

    async def list(
        self, ctx: RequestContext, *, status: str | None, name: str | None, page: PageRequest
    ) -> PageResult[Volume]:
        policy.enforce(ctx, "volume:read")
        async with self.uow() as uow:
            return await uow.volumes.list(
                ctx.project_id, filters=VolumeFilters(status=status, name=name), page=page
            )

    async def update(self, ctx: RequestContext, volume_id: str, data: VolumeUpdate) -> Volume:
        """Rename or describe; `version` guards against lost updates (409 when stale)."""
        policy.enforce(ctx, "volume:update")
        async with self.uow() as uow:
            volume = await self.load(uow, ctx, volume_id)
            if data.version is not None and data.version != volume.version:
                raise ConcurrentUpdate(
                    f"version {data.version} is stale; the volume is at version {volume.version}"
                )
            changes = data.model_dump(exclude_unset=True, exclude={"version"})
            if "name" in changes and data.name is not None:
                volume.name = data.name
            if "description" in changes:
                volume.description = data.description
            volume.updated_at = self._clock.now()
            await uow.commit()
            return volume

    async def delete(self, ctx: RequestContext, volume_id: str) -> Volume:
        """Only available or error, never attached, never with snapshots; 202 deleting."""
        policy.enforce(ctx, "volume:delete")
        async with self.uow() as uow:
            volume = await self.load(uow, ctx, volume_id)
            if volume.status == VolumeStatus.DELETING:
                return volume
            check_volume(VolumeOp.DELETE, volume.status, volume_id=volume.id)
            if volume.server_id is not None:
                raise VolumeAttached(volume.id, volume.server_id)
            count = await uow.snapshots.count_of(volume.id)
            if count:
                raise VolumeHasSnapshots(volume.id, count)
            for op in await uow.operations.open_for_resource(volume.id):
                op.cancel("superseded by delete", now=self._clock.now())
            queue_delete(
                uow, volume, self._operations, user_id=ctx.user_id, request_id=ctx.request_id
            )
            await uow.commit()
        self._wakeup()
        return volume

    async def extend(self, ctx: RequestContext, volume_id: str, new_size: int) -> Volume:
        """os-extend: only available, only larger; the growth counts against gigabytes."""
        policy.enforce(ctx, "volume:action")
        async with self.uow() as uow:
            volume = await self.load(uow, ctx, volume_id)
            check_volume(VolumeOp.EXTEND, volume.status, volume_id=volume.id)
            if new_size <= volume.size_gb:
                raise InvalidNewSize(new_size, volume.size_gb)
            await enforce_quota(uow, volume.project_id, {"gigabytes": new_size - volume.size_gb})
            now = self._clock.now()
            volume.status = VolumeStatus.EXTENDING
            volume.updated_at = now
            uow.operations.add(
                self.operation(
                    ctx,
                    volume,
                    "extend",
                    {"new_size": new_size, "old_size": volume.size_gb},
                    now=now,
                )
            )
            await uow.commit()
        self._wakeup()
        return volume

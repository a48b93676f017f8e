"""The simulated block-storage proxy (`conn.block_storage`): Cinder's API over the store."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.ids import new_id
from stackgate.providers.base import ProviderBadRequest
from stackgate.providers.simulator.env import SimEnv
from stackgate.providers.simulator.lifecycle import servers_due, settle_due
from stackgate.providers.simulator.tables import SimSnapshot, SimVolume
from stackgate.providers.simulator.volumes import (
    AVAILABLE,
    CREATE,
    DEFAULT_TYPE,
    DELETABLE,
    DELETE,
    DELETING,
    ERROR,
    EXTEND,
    IN_USE,
    SNAPSHOT_CREATE,
    SNAPSHOT_DELETE,
    begin,
    find_snapshot,
    find_volume,
    has_metadata,
    invalid_input,
    invalid_volume,
    is_due,
    locked_volume,
    settle_due_volumes,
    snapshot_dto,
    snapshot_not_found,
    volume_dto,
    volume_not_found,
)
from stackgate.providers.storage import ProviderSnapshot, ProviderVolume, VolumeSpec

_Row = TypeVar("_Row", SimVolume, SimSnapshot)
_DELETE_RULE = (
    "Volume status must be {expected} and must not be migrating, attached, belong to a group, "
    "have snapshots, awaiting a transfer, or be disassociated from snapshots after volume "
    "transfer."
)


class SimulatorBlockStorage:
    """Every call checks Cinder's rules, records a pending operation and returns at once."""

    def __init__(self, env: SimEnv) -> None:
        self._env = env

    async def create_volume(self, spec: VolumeSpec) -> ProviderVolume:
        """Answers at once in `creating`; the volume becomes `available` or `error` later."""
        env = self._env
        env.faults.before_call("create_volume")
        if spec.size_gb < 1:
            raise invalid_input(
                f"Volume size '{spec.size_gb}' must be an integer and greater than 0."
            )
        draws = env.draws_for(CREATE)
        volume_id = new_id()

        async def work(session: AsyncSession) -> ProviderVolume:
            now = env.clock.now()
            volume = SimVolume(
                id=volume_id,
                name=spec.name,
                description=spec.description,
                project_id=spec.project_id,
                size_gb=spec.size_gb,
                status="creating",
                bootable=spec.image_id is not None,
                volume_type=spec.volume_type or DEFAULT_TYPE,
                image_id=spec.image_id,
                meta=dict(spec.metadata),
                server_id=None,
                device=None,
                created_at=now,
            )
            duration, fails = draws()
            begin(volume, CREATE, "creating", now=now, duration=duration, fails=fails)
            session.add(volume)
            await session.flush()
            return volume_dto(volume)

        result = await env.store.run(work, write=True)
        env.faults.after_commit("create_volume")
        return result

    async def get_volume(self, volume_id: str) -> ProviderVolume:
        """The volume now; raises ProviderNotFound once it is gone."""
        env = self._env
        env.faults.before_call("get_volume")
        now = env.clock.now()

        async def read(session: AsyncSession) -> ProviderVolume | None:
            volume = await session.get(SimVolume, volume_id)
            if volume is None:
                raise volume_not_found(volume_id)
            due = is_due(volume, now) or await servers_due(session, now)
            return None if due else volume_dto(volume)

        async def finish(session: AsyncSession) -> ProviderVolume:
            await settle_due(session, now)  # a server gone or failed releases its volumes
            return volume_dto(await locked_volume(session, volume_id, now))

        found = await env.store.run(read)
        return found if found is not None else await env.store.run(finish, write=True)

    async def volumes(self, *, metadata: dict[str, str] | None = None) -> list[ProviderVolume]:
        """Volumes, optionally only those whose metadata contains every item given."""
        env = self._env
        env.faults.before_call("volumes")
        rows = await self._listing(SimVolume)
        return [volume_dto(v) for v in rows if has_metadata(v.meta, metadata)]

    async def delete_volume(self, volume_id: str) -> None:
        """Start deleting (available or error, not attached, no snapshots); missing is fine."""
        env = self._env
        env.faults.before_call("delete_volume")
        draws = env.draws_for(DELETE)

        async def work(session: AsyncSession) -> None:
            now = env.clock.now()
            await settle_due(session, now)
            volume = await find_volume(session, volume_id, now)
            if volume is None or volume.status == DELETING:
                return
            snapshots = await session.scalar(
                select(func.count())
                .select_from(SimSnapshot)
                .where(SimSnapshot.volume_id == volume.id)
            )
            if volume.status not in DELETABLE or volume.server_id is not None or snapshots:
                raise invalid_volume(_DELETE_RULE.format(expected=" or ".join(DELETABLE)))
            if volume.status == ERROR:
                # Its create failed, so it never reached a backend: Cinder removes it at once.
                await session.delete(volume)
                return
            duration, fails = draws()
            begin(volume, DELETE, DELETING, now=now, duration=duration, fails=fails)

        await env.store.run(work, write=True)
        env.faults.after_commit("delete_volume")

    async def extend_volume(self, volume_id: str, size_gb: int) -> None:
        """os-extend: only grows, only when available (-> ProviderBadRequest otherwise)."""
        env = self._env
        env.faults.before_call("extend_volume")
        draws = env.draws_for(EXTEND)

        async def work(session: AsyncSession) -> None:
            now = env.clock.now()
            await settle_due(session, now)
            volume = await locked_volume(session, volume_id, now)
            if volume.status != AVAILABLE:
                raise invalid_volume(
                    f"Volume {volume.id} status must be available to extend, "
                    f"but current status is: {volume.status}."
                )
            if size_gb <= volume.size_gb:
                raise invalid_input(
                    "New size for extend must be greater than current size. "
                    f"(current: {volume.size_gb}, extended: {size_gb})."
                )
            duration, fails = draws()
            begin(
                volume,
                EXTEND,
                "extending",
                now=now,
                duration=duration,
                fails=fails,
                params={"size_gb": size_gb},
            )

        await env.store.run(work, write=True)
        env.faults.after_commit("extend_volume")

    async def create_snapshot(
        self,
        volume_id: str,
        name: str,
        *,
        metadata: dict[str, str] | None = None,
        force: bool = False,
    ) -> ProviderSnapshot:
        """A snapshot of an available volume (or an in-use one with `force`, as Cinder);
        `creating`, then `available`."""
        env = self._env
        env.faults.before_call("create_snapshot")
        draws = env.draws_for(SNAPSHOT_CREATE)

        async def work(session: AsyncSession) -> ProviderSnapshot:
            now = env.clock.now()
            await settle_due(session, now)
            volume = await locked_volume(session, volume_id, now)
            allowed = (AVAILABLE, IN_USE) if force else (AVAILABLE,)
            if volume.status not in allowed:
                raise invalid_volume(
                    f"Volume {volume.id} status must be available, "
                    f"but current status is: {volume.status}."
                )
            duration, fails = draws()
            snapshot = SimSnapshot(
                id=new_id(),
                volume_id=volume.id,
                name=name,
                size_gb=volume.size_gb,
                status="creating",
                meta=dict(metadata or {}),
                created_at=now,
                action=SNAPSHOT_CREATE,
                ends_at=now + duration,
                will_fail=fails,
            )
            session.add(snapshot)
            await session.flush()
            return snapshot_dto(snapshot)

        result = await env.store.run(work, write=True)
        env.faults.after_commit("create_snapshot")
        return result

    async def get_snapshot(self, snapshot_id: str) -> ProviderSnapshot:
        """The snapshot now; raises ProviderNotFound once it is gone."""
        env = self._env
        env.faults.before_call("get_snapshot")
        now = env.clock.now()

        async def work(session: AsyncSession) -> ProviderSnapshot:
            snapshot = await find_snapshot(session, snapshot_id, now)
            if snapshot is None:
                raise snapshot_not_found(snapshot_id)
            return snapshot_dto(snapshot)

        async def read(session: AsyncSession) -> ProviderSnapshot | None:
            snapshot = await session.get(SimSnapshot, snapshot_id)
            if snapshot is None:
                raise snapshot_not_found(snapshot_id)
            return None if is_due(snapshot, now) else snapshot_dto(snapshot)

        found = await env.store.run(read)
        return found if found is not None else await env.store.run(work, write=True)

    async def snapshots(self, *, metadata: dict[str, str] | None = None) -> list[ProviderSnapshot]:
        """Snapshots, optionally only those whose metadata contains every item given."""
        env = self._env
        env.faults.before_call("snapshots")
        rows = await self._listing(SimSnapshot)
        return [snapshot_dto(s) for s in rows if has_metadata(s.meta, metadata)]

    async def delete_snapshot(self, snapshot_id: str) -> None:
        """Start deleting a snapshot (available or error); a missing snapshot is not an error."""
        env = self._env
        env.faults.before_call("delete_snapshot")
        draws = env.draws_for(SNAPSHOT_DELETE)

        async def work(session: AsyncSession) -> None:
            now = env.clock.now()
            snapshot = await find_snapshot(session, snapshot_id, now)
            if snapshot is None or snapshot.status == DELETING:
                return
            if snapshot.status not in (AVAILABLE, ERROR):
                raise ProviderBadRequest(
                    "Invalid snapshot: Volume Snapshot status must be available or error "
                    "and must not be part of a group.",
                    status_code=400,
                )
            duration, fails = draws()
            snapshot.status = DELETING
            snapshot.action = SNAPSHOT_DELETE
            snapshot.ends_at = now + duration
            snapshot.will_fail = fails

        await env.store.run(work, write=True)
        env.faults.after_commit("delete_snapshot")

    async def _listing(self, table: type[_Row]) -> list[_Row]:
        env = self._env
        now = env.clock.now()
        stmt = select(table).order_by(table.created_at, table.id)

        async def read(session: AsyncSession) -> list[_Row] | None:
            rows = list((await session.scalars(stmt)).all())
            due = any(is_due(row, now) for row in rows) or await servers_due(session, now)
            return None if due else rows

        async def finish(session: AsyncSession) -> list[_Row]:
            await settle_due(session, now)
            await settle_due_volumes(session, now)
            return list((await session.scalars(stmt)).all())

        rows = await env.store.run(read)
        return rows if rows is not None else await env.store.run(finish, write=True)

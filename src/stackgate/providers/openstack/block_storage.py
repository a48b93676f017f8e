"""conn.block_storage (Cinder v3) through openstacksdk: the BlockStorageProvider contract.

Creates act in the StackGate project's own Keystone project (its quota, its ownership); reads,
actions and deletes use the admin connection, which sees every project (lists with
all_projects=True, Cinder's all_tenants). SDK resources become our frozen DTOs here.
"""

from __future__ import annotations

from typing import Any

from openstack.block_storage.v2 import snapshot as snapshot_v2
from openstack.block_storage.v2 import volume as volume_v2
from openstack.block_storage.v3 import snapshot as snapshot_v3
from openstack.block_storage.v3 import volume as volume_v3

from stackgate.providers.openstack.session import CloudSession
from stackgate.providers.storage import (
    ProviderAttachment,
    ProviderSnapshot,
    ProviderVolume,
    VolumeSpec,
)

# `conn.block_storage` is typed as either API version's proxy; both resources read alike.
Volume = volume_v2.Volume | volume_v3.Volume
Snapshot = snapshot_v2.Snapshot | snapshot_v3.Snapshot


def _metadata(raw: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (raw or {}).items()}


def _has(metadata: dict[str, str], wanted: dict[str, str] | None) -> bool:
    return all(metadata.get(k) == v for k, v in (wanted or {}).items())


def volume_dto(volume: Volume) -> ProviderVolume:
    image_metadata = volume.volume_image_metadata or {}
    attachments = tuple(
        ProviderAttachment(server_id=str(a.get("server_id")), device=str(a.get("device") or ""))
        for a in volume.attachments or ()
        if a.get("server_id")
    )
    return ProviderVolume(
        id=str(volume.id),
        name=str(volume.name or ""),
        status=str(volume.status),
        size_gb=int(volume.size or 0),
        bootable=bool(volume.is_bootable),
        volume_type=volume.volume_type,
        image_id=image_metadata.get("image_id"),
        attachments=attachments,
        metadata=_metadata(volume.metadata),
    )


def snapshot_dto(snapshot: Snapshot) -> ProviderSnapshot:
    return ProviderSnapshot(
        id=str(snapshot.id),
        volume_id=str(snapshot.volume_id),
        name=str(snapshot.name or ""),
        status=str(snapshot.status),
        size_gb=int(snapshot.size or 0),
        metadata=_metadata(snapshot.metadata),
    )


class OpenStackBlockStorage:
    """Every call runs in the session's thread pool; errors leave as ProviderErrors."""

    def __init__(self, session: CloudSession) -> None:
        self._session = session

    async def create_volume(self, spec: VolumeSpec) -> ProviderVolume:
        """Answers at once in `creating`; the volume becomes `available` or `error` later."""
        attrs: dict[str, Any] = {"size": spec.size_gb, "name": spec.name}
        if spec.description is not None:
            attrs["description"] = spec.description
        if spec.image_id is not None:
            attrs["image_id"] = spec.image_id
        if spec.volume_type is not None:
            attrs["volume_type"] = spec.volume_type
        if spec.metadata:
            attrs["metadata"] = dict(spec.metadata)

        def create() -> ProviderVolume:
            conn = self._session.for_project(spec.project_id)
            return volume_dto(conn.block_storage.create_volume(**attrs))

        return await self._session.call(create)

    async def get_volume(self, volume_id: str) -> ProviderVolume:
        """The volume now; raises ProviderNotFound once it is gone."""
        return await self._session.call(
            lambda: volume_dto(self._session.base().block_storage.get_volume(volume_id)),
            idempotent=True,
        )

    async def volumes(self, *, metadata: dict[str, str] | None = None) -> list[ProviderVolume]:
        """Volumes of every project; Cinder filters on metadata itself (a stringified dict, as
        python-openstackclient sends it), and the result is checked again here."""
        query: dict[str, Any] = {"details": True, "all_projects": True}
        if metadata:
            query["properties"] = str(dict(metadata))

        def listing() -> list[ProviderVolume]:
            found = self._session.base().block_storage.volumes(**query)
            return [volume_dto(v) for v in found]

        found = await self._session.call(listing, idempotent=True)
        return [v for v in found if _has(v.metadata, metadata)]

    async def delete_volume(self, volume_id: str) -> None:
        """Start deleting; Cinder refuses (400, ProviderBadRequest) an attached volume, one
        with snapshots or in a busy status; a missing volume is not an error."""
        await self._session.call(
            lambda: self._session.base().block_storage.delete_volume(volume_id, ignore_missing=True)
        )

    async def extend_volume(self, volume_id: str, size_gb: int) -> None:
        """os-extend: only grows, only when available (Cinder's 400 otherwise)."""
        await self._session.call(
            lambda: self._session.base().block_storage.extend_volume(volume_id, size_gb)
        )

    async def create_snapshot(
        self,
        volume_id: str,
        name: str,
        *,
        metadata: dict[str, str] | None = None,
        force: bool = False,
    ) -> ProviderSnapshot:
        """A snapshot of an available volume (or an in-use one with `force`). Made with the
        admin connection: the contract names no project, and Cinder keeps the snapshot with
        its volume."""
        attrs: dict[str, Any] = {"volume_id": volume_id, "name": name, "force": force}
        if metadata:
            attrs["metadata"] = dict(metadata)
        return await self._session.call(
            lambda: snapshot_dto(self._session.base().block_storage.create_snapshot(**attrs))
        )

    async def get_snapshot(self, snapshot_id: str) -> ProviderSnapshot:
        """The snapshot now; raises ProviderNotFound once it is gone."""
        return await self._session.call(
            lambda: snapshot_dto(self._session.base().block_storage.get_snapshot(snapshot_id)),
            idempotent=True,
        )

    async def snapshots(self, *, metadata: dict[str, str] | None = None) -> list[ProviderSnapshot]:
        """Snapshots of every project whose metadata contains every item given (the SDK's
        snapshot query has no metadata filter, so it is applied here)."""

        def listing() -> list[ProviderSnapshot]:
            found = self._session.base().block_storage.snapshots(details=True, all_projects=True)
            return [snapshot_dto(s) for s in found]

        found = await self._session.call(listing, idempotent=True)
        return [s for s in found if _has(s.metadata, metadata)]

    async def delete_snapshot(self, snapshot_id: str) -> None:
        """Start deleting a snapshot; a missing snapshot is not an error."""
        await self._session.call(
            lambda: self._session.base().block_storage.delete_snapshot(
                snapshot_id, ignore_missing=True
            )
        )

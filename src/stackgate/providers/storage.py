"""The block-storage contract (`conn.block_storage`, Cinder v3) and the DTOs crossing it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class VolumeSpec:
    """What `conn.block_storage.create_volume` needs; `metadata` carries our id so a retried
    create finds the volume it already made (Cinder volumes have metadata, not tags)."""

    name: str
    size_gb: int
    project_id: str
    description: str | None = None
    image_id: str | None = None
    volume_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderAttachment:
    server_id: str
    device: str


@dataclass(frozen=True, slots=True)
class ProviderVolume:
    """A volume as Cinder reports it."""

    id: str
    name: str
    status: str  # creating, available, reserved, attaching, in-use, detaching, extending, ...
    size_gb: int
    bootable: bool = False
    volume_type: str | None = None
    image_id: str | None = None
    attachments: tuple[ProviderAttachment, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderSnapshot:
    id: str
    volume_id: str
    name: str
    status: str  # creating, available, deleting, error
    size_gb: int
    metadata: dict[str, str] = field(default_factory=dict)


class BlockStorageProvider(Protocol):
    """The block-storage proxy (`conn.block_storage`)."""

    async def create_volume(self, spec: VolumeSpec) -> ProviderVolume:
        """Answers at once in `creating`; the volume becomes `available` or `error` later."""
        ...

    async def get_volume(self, volume_id: str) -> ProviderVolume:
        """The volume now; raises ProviderNotFound once it is gone."""
        ...

    async def volumes(self, *, metadata: dict[str, str] | None = None) -> list[ProviderVolume]:
        """Volumes, optionally only those whose metadata contains every item given."""
        ...

    async def delete_volume(self, volume_id: str) -> None:
        """Start deleting (Cinder: available or error only, never attached, never with
        snapshots -> ProviderBadRequest); a missing volume is not an error."""
        ...

    async def extend_volume(self, volume_id: str, size_gb: int) -> None:
        """os-extend: only grows, only when available (-> ProviderBadRequest otherwise)."""
        ...

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
        ...

    async def get_snapshot(self, snapshot_id: str) -> ProviderSnapshot:
        """The snapshot now; raises ProviderNotFound once it is gone."""
        ...

    async def snapshots(self, *, metadata: dict[str, str] | None = None) -> list[ProviderSnapshot]:
        """Snapshots, optionally only those whose metadata contains every item given."""
        ...

    async def delete_snapshot(self, snapshot_id: str) -> None:
        """Start deleting a snapshot; a missing snapshot is not an error."""
        ...

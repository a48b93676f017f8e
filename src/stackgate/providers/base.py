"""The provider contract: Protocols mirroring openstacksdk's compute and image proxies (block
storage in providers/storage.py, network in providers/network.py).

Our own frozen DTOs cross this boundary, never SDK objects (CONVENTIONS.md, Providers). Method
names follow `conn.compute.*` / `conn.image.*` so the OpenStack adapter maps one to one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from stackgate.providers.network import NetworkProvider
from stackgate.providers.storage import BlockStorageProvider


class ProviderError(Exception):
    """Base of every error a provider raises."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class ProviderNotFound(ProviderError):
    """The cloud does not know the resource (HTTP 404)."""


class ProviderConflict(ProviderError):
    """The cloud refused the request in the resource's current state (HTTP 409)."""


class ProviderBadRequest(ProviderError):
    """The cloud rejected the request itself (HTTP 400)."""


class ProviderForbidden(ProviderError):
    """The cloud refused: over its own quota (Nova 403, Cinder 413) or its policy (403)."""


class ProviderUnavailable(ProviderError):
    """The cloud's API failed or could not be reached (5xx, connection refused): retryable."""


class ProviderTimeout(ProviderUnavailable):
    """The cloud's API did not answer in time: retryable."""


class ProviderMisconfigured(ProviderError):
    """The provider's configuration names no usable cloud (no credentials, an unknown
    clouds.yaml entry): found at start-up, where the process refuses to run, rather than by
    the first operation, which would wait out its deadline."""


@dataclass(frozen=True, slots=True)
class FlavorSpec:
    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ImageSpec:
    id: str
    name: str
    min_disk_gb: int = 0
    min_ram_mb: int = 0


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """What `conn.compute.create_server` needs; `tags` lets a retried create find its server."""

    name: str
    flavor: FlavorSpec
    image: ImageSpec
    project_id: str
    tags: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    key_name: str | None = None
    user_data: str | None = None
    # Ports made beforehand (Nova `networks: [{"port": id}]`); none means the cloud picks.
    port_ids: tuple[str, ...] = ()
    # Boot from this volume (block_device_mapping_v2 boot_index 0, source volume) instead of
    # the image; the image is still recorded.
    boot_volume_id: str | None = None


@dataclass(frozen=True, slots=True)
class Fault:
    code: int
    message: str
    created: datetime


@dataclass(frozen=True, slots=True)
class ProviderServer:
    """A server as the cloud reports it (Nova's server body with OS-EXT-STS fields)."""

    id: str
    name: str
    status: str
    vm_state: str
    task_state: str | None
    power_state: int
    flavor: FlavorSpec
    image_id: str | None
    ip_address: str | None = None
    host: str | None = None
    fault: Fault | None = None
    launched_at: datetime | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProviderImage:
    id: str
    name: str
    status: str
    size_bytes: int | None = None


class ComputeProvider(Protocol):
    """The compute proxy (`conn.compute`)."""

    async def create_server(self, spec: ServerSpec) -> ProviderServer:
        """Boot a server; it answers at once in BUILD and goes ACTIVE or ERROR later."""
        ...

    async def get_server(self, server_id: str) -> ProviderServer:
        """The server now; raises ProviderNotFound once it is gone."""
        ...

    async def servers(self, *, tags: tuple[str, ...] = ()) -> list[ProviderServer]:
        """Servers of the project, optionally only those carrying all `tags`."""
        ...

    async def delete_server(self, server_id: str) -> None:
        """Delete a server in any state; a missing server is not an error."""
        ...

    async def start_server(self, server_id: str) -> None:
        """os-start."""
        ...

    async def stop_server(self, server_id: str) -> None:
        """os-stop."""
        ...

    async def reboot_server(self, server_id: str, reboot_type: str) -> None:
        """reboot with type SOFT or HARD."""
        ...

    async def pause_server(self, server_id: str) -> None:
        """pause."""
        ...

    async def unpause_server(self, server_id: str) -> None:
        """unpause."""
        ...

    async def suspend_server(self, server_id: str) -> None:
        """suspend."""
        ...

    async def resume_server(self, server_id: str) -> None:
        """resume."""
        ...

    async def resize_server(self, server_id: str, flavor: FlavorSpec) -> None:
        """resize to another flavor; the server ends in VERIFY_RESIZE."""
        ...

    async def confirm_server_resize(self, server_id: str) -> None:
        """confirmResize."""
        ...

    async def revert_server_resize(self, server_id: str) -> None:
        """revertResize: back to the old flavor."""
        ...

    async def rebuild_server(self, server_id: str, image: ImageSpec) -> None:
        """rebuild from another (or the same) image."""
        ...

    async def shelve_server(self, server_id: str) -> None:
        """shelve (offloaded at once, as with Nova's default shelved_offload_time=0)."""
        ...

    async def unshelve_server(self, server_id: str) -> None:
        """unshelve: scheduled again, may find no valid host."""
        ...

    async def create_server_image(self, server_id: str, name: str) -> ProviderImage:
        """createImage: a snapshot that becomes an image (queued, then active)."""
        ...

    async def create_volume_attachment(self, server_id: str, volume_id: str) -> str:
        """os-volume_attachments: attach an available volume; returns the device (/dev/vdb).
        The volume passes attaching -> in-use; a volume not available -> ProviderBadRequest."""
        ...

    async def delete_volume_attachment(self, server_id: str, volume_id: str) -> None:
        """Detach (detaching -> available); not attached to this server is not an error."""
        ...


class ImageProvider(Protocol):
    """The image proxy (`conn.image`)."""

    async def get_image(self, image_id: str) -> ProviderImage:
        """An image; raises ProviderNotFound once it is gone."""
        ...

    async def delete_image(self, image_id: str) -> None:
        """Delete an image; a missing image is not an error."""
        ...


class Provider(Protocol):
    """One cloud: its proxies, a readiness check and a way to release resources."""

    compute: ComputeProvider
    image: ImageProvider
    block_storage: BlockStorageProvider
    network: NetworkProvider
    name: str

    async def check(self) -> None:
        """Raise ProviderUnavailable unless the cloud answers."""
        ...

    async def start(self) -> None:
        """Open connections and stores; raise ProviderMisconfigured when the configuration
        cannot work (checked without calling the cloud, which may be away for a while)."""
        ...

    async def close(self) -> None:
        """Release connections and stores."""
        ...

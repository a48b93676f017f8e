"""conn.compute through openstacksdk: Nova's servers and their actions as the provider
contract's calls, the SDK's Server converted to ProviderServer once, here.

Creates run in the StackGate project's own Keystone project (`session.for_project`), so the
server is that project's and Nova's per-project quota applies; everything by id runs as the
cloud admin (`session.base()`), which sees every project.
"""

from __future__ import annotations

import base64
import ipaddress
import threading
from datetime import UTC, datetime
from typing import Any

from openstack.connection import Connection

from stackgate.providers.base import (
    Fault,
    FlavorSpec,
    ImageSpec,
    ProviderImage,
    ProviderServer,
    ServerSpec,
)
from stackgate.providers.openstack.image import image_dto
from stackgate.providers.openstack.session import CloudSession


def _time(value: Any) -> datetime | None:
    """Nova's timestamps ("...Z", or OS-SRV-USG's naive microseconds) as aware UTC."""
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _first_ipv4(addresses: dict[str, Any] | None) -> str | None:
    """The server's address: the first fixed IPv4 of its first network."""
    for entries in (addresses or {}).values():
        for entry in entries:
            addr = entry.get("addr")
            if entry.get("OS-EXT-IPS:type", "fixed") != "fixed" or not addr:
                continue
            if ipaddress.ip_address(addr).version == 4:
                return str(addr)
    return None


class _Flavors:
    """Flavor ids by name (Nova embeds only the name from 2.47), learnt from the cloud."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}
        self._lock = threading.Lock()

    def remember(self, name: str, flavor_id: str) -> None:
        with self._lock:
            self._ids[name] = flavor_id

    def id_of(self, conn: Connection, name: str) -> str | None:
        with self._lock:
            known = self._ids.get(name)
        if known is not None:
            return known
        for flavor in conn.compute.flavors(details=False):
            self.remember(str(flavor.name), str(flavor.id))
        with self._lock:
            return self._ids.get(name)

    def resolve(self, conn: Connection, spec: FlavorSpec) -> str:
        """The cloud's id for `spec`: by id, else by name, else made with that id (admin)."""
        found = None
        if spec.id:
            found = conn.compute.find_flavor(spec.id, ignore_missing=True)
        if found is None:
            found = conn.compute.find_flavor(spec.name, ignore_missing=True)
        if found is None:
            found = conn.compute.create_flavor(
                name=spec.name,
                vcpus=spec.vcpus,
                ram=spec.ram_mb,
                disk=spec.disk_gb,
                **({"id": spec.id} if spec.id else {}),
            )
        self.remember(str(found.name), str(found.id))
        return str(found.id)


class OpenStackCompute:
    def __init__(self, session: CloudSession) -> None:
        self._session = session
        self._flavors = _Flavors()

    # --- conversion -----------------------------------------------------------------------

    def _dto(self, conn: Connection, server: Any) -> ProviderServer:
        flavor = server.flavor
        name = str(flavor.original_name or flavor.name or "") if flavor is not None else ""
        # From 2.47 Nova embeds the flavor without its id (the SDK then answers the name for
        # `id`): the id is looked up by name.
        embedded_id = flavor._body.get("id") if flavor is not None else None
        flavor_id = embedded_id or (self._flavors.id_of(conn, name) if name else None)
        fault = None
        if server.fault:
            fault = Fault(
                code=int(server.fault.get("code", 500)),
                message=str(server.fault.get("message", "")),
                created=_time(server.fault.get("created")) or datetime.now(UTC),
            )
        image = server.image
        return ProviderServer(
            id=str(server.id),
            name=str(server.name),
            status=str(server.status),
            vm_state=str(server.vm_state),
            task_state=server.task_state or None,
            power_state=int(server.power_state or 0),
            flavor=FlavorSpec(
                name=name,
                vcpus=int(flavor.vcpus or 0) if flavor is not None else 0,
                ram_mb=int(flavor.ram or 0) if flavor is not None else 0,
                disk_gb=int(flavor.disk or 0) if flavor is not None else 0,
                id=flavor_id,
            ),
            image_id=str(image.id) if image is not None and image.id else None,
            ip_address=_first_ipv4(server.addresses),
            host=server.compute_host or None,
            fault=fault,
            launched_at=_time(server.launched_at),
            tags=tuple(server.tags or ()),
        )

    def _fetch(self, server_id: str) -> ProviderServer:
        conn = self._session.base()
        return self._dto(conn, conn.compute.get_server(server_id))

    # --- servers --------------------------------------------------------------------------

    async def create_server(self, spec: ServerSpec) -> ProviderServer:
        """Boot a server; it answers at once in BUILD and goes ACTIVE or ERROR later."""
        session = self._session

        def run() -> str:
            flavor_id = self._flavors.resolve(session.base(), spec.flavor)
            attrs: dict[str, Any] = {
                "name": spec.name,
                "flavor_id": flavor_id,
                "image_id": spec.image.id,
                # Without ports the cloud picks the project's network, as the simulator does.
                "networks": [{"port": p} for p in spec.port_ids] if spec.port_ids else "auto",
                "tags": list(spec.tags),
                "metadata": dict(spec.metadata),
            }
            if spec.key_name:
                attrs["key_name"] = spec.key_name
            if spec.user_data is not None:
                attrs["user_data"] = base64.b64encode(spec.user_data.encode()).decode()
            if spec.boot_volume_id:
                attrs["block_device_mapping"] = [
                    {
                        "boot_index": 0,
                        "uuid": spec.boot_volume_id,
                        "source_type": "volume",
                        "destination_type": "volume",
                        "delete_on_termination": False,
                    }
                ]
            server = session.for_project(spec.project_id).compute.create_server(**attrs)
            return str(server.id)

        server_id = await session.call(run)
        # The create answer holds only id and links: the server as the cloud now shows it.
        return await self.get_server(server_id)

    async def get_server(self, server_id: str) -> ProviderServer:
        """The server now; raises ProviderNotFound once it is gone."""
        return await self._session.call(lambda: self._fetch(server_id), idempotent=True)

    async def servers(self, *, tags: tuple[str, ...] = ()) -> list[ProviderServer]:
        """Servers of every project (the admin's view), optionally only those with all `tags`."""
        conn_of = self._session.base

        def run() -> list[ProviderServer]:
            conn = conn_of()
            query: dict[str, Any] = {"all_projects": True}
            if tags:
                query["tags"] = ",".join(tags)
            found = [self._dto(conn, s) for s in conn.compute.servers(details=True, **query)]
            # Nova lists newest first; the contract's order is oldest first, like the simulator.
            return list(reversed(found))

        return await self._session.call(run, idempotent=True)

    async def delete_server(self, server_id: str) -> None:
        """Delete a server in any state; a missing server is not an error."""
        await self._session.call(
            lambda: self._session.base().compute.delete_server(server_id, ignore_missing=True)
        )

    # --- actions --------------------------------------------------------------------------

    async def _act(self, method: str, server_id: str, *args: Any) -> None:
        def run() -> None:
            getattr(self._session.base().compute, method)(server_id, *args)

        await self._session.call(run)

    async def start_server(self, server_id: str) -> None:
        await self._act("start_server", server_id)

    async def stop_server(self, server_id: str) -> None:
        await self._act("stop_server", server_id)

    async def reboot_server(self, server_id: str, reboot_type: str) -> None:
        await self._act("reboot_server", server_id, reboot_type.upper())

    async def pause_server(self, server_id: str) -> None:
        await self._act("pause_server", server_id)

    async def unpause_server(self, server_id: str) -> None:
        await self._act("unpause_server", server_id)

    async def suspend_server(self, server_id: str) -> None:
        await self._act("suspend_server", server_id)

    async def resume_server(self, server_id: str) -> None:
        await self._act("resume_server", server_id)

    async def resize_server(self, server_id: str, flavor: FlavorSpec) -> None:
        """resize to another flavor (made first when the cloud lacks it); ends in VERIFY_RESIZE."""

        def run() -> None:
            conn = self._session.base()
            conn.compute.resize_server(server_id, self._flavors.resolve(conn, flavor))

        await self._session.call(run)

    async def confirm_server_resize(self, server_id: str) -> None:
        await self._act("confirm_server_resize", server_id)

    async def revert_server_resize(self, server_id: str) -> None:
        await self._act("revert_server_resize", server_id)

    async def rebuild_server(self, server_id: str, image: ImageSpec) -> None:
        def run() -> None:
            self._session.base().compute.rebuild_server(server_id, image=image.id)

        await self._session.call(run)

    async def shelve_server(self, server_id: str) -> None:
        await self._act("shelve_server", server_id)

    async def unshelve_server(self, server_id: str) -> None:
        await self._act("unshelve_server", server_id)

    async def create_server_image(self, server_id: str, name: str) -> ProviderImage:
        """createImage; the image as Glance shows it right after (queued)."""

        def run() -> ProviderImage:
            conn = self._session.base()
            # The SDK reads the new image back from Glance before it returns it.
            return image_dto(conn.compute.create_server_image(server_id, name, wait=False))

        return await self._session.call(run)

    async def create_volume_attachment(self, server_id: str, volume_id: str) -> str:
        """os-volume_attachments; returns the device Nova chose (/dev/vdb)."""

        def run() -> str:
            attachment = self._session.base().compute.create_volume_attachment(
                server_id, volume=volume_id
            )
            return str(attachment.device)

        return await self._session.call(run)

    async def delete_volume_attachment(self, server_id: str, volume_id: str) -> None:
        """Detach; not attached to this server (Nova's 404) is not an error."""

        def run() -> None:
            self._session.base().compute.delete_volume_attachment(
                server_id, volume_id, ignore_missing=True
            )

        await self._session.call(run)

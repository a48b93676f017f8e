"""Volume attachment use cases: POST/GET/DELETE /vms/{id}/volumes (Nova's
os-volume_attachments). The request reserves (or marks detaching) the volume and queues a
server operation; the compute worker attaches or detaches in the cloud (handlers.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from stackgate.block_storage import public as block_storage_service
from stackgate.compute.errors import (
    InvalidStateTransition,
    RootVolumeDetach,
    ServerLocked,
    VolumeNotAttached,
)
from stackgate.compute.models import Server
from stackgate.compute.servers.service import ServerService, view_of
from stackgate.compute.volume_attachments.schemas import VolumeAttach
from stackgate.core.context import RequestContext
from stackgate.identity.public import policy
from stackgate.semantics.nova import Action, VmState, allowed_actions

# nova/compute/api.py attach_volume / detach_volume: @check_instance_state(vm_state=[ACTIVE,
# PAUSED, STOPPED, RESIZED, SOFT_DELETED, SHELVED, SHELVED_OFFLOADED]), task_state None.
VOLUME_VM_STATES = frozenset(
    {
        VmState.ACTIVE,
        VmState.PAUSED,
        VmState.STOPPED,
        VmState.RESIZED,
        VmState.SHELVED,
        VmState.SHELVED_OFFLOADED,
    }
)


def check_volume_action(server: Server, action: str, *, is_admin: bool) -> None:
    """Raise unless the server may attach or detach a volume now (409 otherwise)."""
    if server.locked and not is_admin:
        raise ServerLocked(server.id, action)
    if server.vm_state not in VOLUME_VM_STATES or server.task_state is not None:
        raise InvalidStateTransition(
            action=action,
            status=server.status,
            task_state=server.task_state,
            allowed=allowed_actions(view_of(server), is_admin=is_admin),
        )


def attachment_body(volume: Any, server_id: str) -> dict[str, Any]:
    return {
        "id": volume.id,
        "volume_id": volume.id,
        "server_id": server_id,
        "device": volume.device,
        "status": volume.status,
        "delete_on_termination": volume.delete_on_termination,
    }


class ServerVolumeService:
    def __init__(self, servers: ServerService) -> None:
        self._servers = servers

    async def attach(
        self, ctx: RequestContext, server_id: str, data: VolumeAttach
    ) -> dict[str, Any]:
        """Reserve the volume for the server and queue the attachment (202)."""
        policy.enforce(ctx, "server:volume")
        async with self._servers.uow() as uow:
            server = await self._servers.load(uow, ctx, server_id)
            check_volume_action(server, Action.ATTACH_VOLUME, is_admin=ctx.is_admin)
            attached = (
                await block_storage_service.volumes_of_servers(uow.session, [server.id])
            ).get(server.id, [])
            used = [v.device for v in attached if v.device]
            # The cloud admin acts on another project's server with that project's volumes.
            owner = replace(ctx, project_id=server.project_id)
            (volume,) = await block_storage_service.reserve_volumes(
                uow, owner, [data.volume_id], server.id, now=self._servers.clock.now()
            )
            # Nova reserves the device name when the request is accepted; the cloud's answer
            # replaces it once attached.
            volume.device = block_storage_service.next_device(used)
            uow.operations.add(
                self._servers.new_operation(
                    ctx, server, Action.ATTACH_VOLUME, {"volume_id": volume.id}
                )
            )
            await uow.commit()
            body = attachment_body(volume, server.id)
        self._servers.wake()
        return body

    async def detach(self, ctx: RequestContext, server_id: str, volume_id: str) -> dict[str, Any]:
        """Mark the volume detaching and queue the detachment (202)."""
        policy.enforce(ctx, "server:volume")
        async with self._servers.uow() as uow:
            server = await self._servers.load(uow, ctx, server_id)
            attached = (
                await block_storage_service.volumes_of_servers(uow.session, [server.id])
            ).get(server.id, [])
            volume = next((v for v in attached if v.id == volume_id), None)
            if volume is None:
                raise VolumeNotAttached(server.id, volume_id)
            if volume.is_root:
                raise RootVolumeDetach(volume.id)
            check_volume_action(server, Action.DETACH_VOLUME, is_admin=ctx.is_admin)
            await block_storage_service.mark_detaching(
                uow.session, volume.id, now=self._servers.clock.now()
            )
            uow.operations.add(
                self._servers.new_operation(
                    ctx, server, Action.DETACH_VOLUME, {"volume_id": volume.id}
                )
            )
            await uow.commit()
            body = attachment_body(volume, server.id)
        self._servers.wake()
        return body

    async def list(self, ctx: RequestContext, server_id: str) -> list[dict[str, Any]]:
        """The server's attachments (root volume first), reserved ones included."""
        policy.enforce(ctx, "server:get")
        async with self._servers.reader() as uow:
            server = await self._servers.load(uow, ctx, server_id)
            volumes = (
                await block_storage_service.volumes_of_servers(uow.session, [server.id])
            ).get(server.id, [])
            return [attachment_body(v, server.id) for v in volumes]

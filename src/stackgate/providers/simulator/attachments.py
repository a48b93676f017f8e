"""Nova's os-volume_attachments over the simulated Cinder (reference 1.4 'attach volume').

The server must be in a state Nova allows and not busy or locked (409); the volume must be
available to attach (Cinder's 400) and in-use on that server to detach; the root volume never
detaches (400). Volumes pass attaching -> in-use and detaching -> available.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.providers.base import ProviderBadRequest, ProviderConflict
from stackgate.providers.simulator.env import SimEnv
from stackgate.providers.simulator.guards import locked_server
from stackgate.providers.simulator.lifecycle import view_of
from stackgate.providers.simulator.tables import SimServer
from stackgate.providers.simulator.volumes import (
    ATTACH,
    AVAILABLE,
    DETACH,
    IN_USE,
    ROOT_DEVICE,
    attached_devices,
    begin,
    find_volume,
    invalid_volume,
    locked_volume,
    next_device,
)
from stackgate.semantics.nova import VmState

# nova/compute/api.py attach_volume / detach_volume: @check_instance_state(vm_state=[...]).
ATTACHABLE = (
    VmState.ACTIVE,
    VmState.PAUSED,
    VmState.STOPPED,
    VmState.RESIZED,
    "soft-delete",
    VmState.SHELVED,
    VmState.SHELVED_OFFLOADED,
)


def _check_server(server: SimServer, method: str, now: datetime) -> None:
    if server.locked:
        raise ProviderConflict(f"Instance {server.id} is locked", status_code=409)
    view = view_of(server, now)
    if view.vm_state not in ATTACHABLE:
        attr, state = "vm_state", view.vm_state
    elif view.task_state is not None:
        attr, state = "task_state", view.task_state
    else:
        return
    raise ProviderConflict(
        f"Cannot '{method}' instance {server.id} while it is in {attr} {state}", status_code=409
    )


async def attach(env: SimEnv, server_id: str, volume_id: str) -> str:
    """Attach an available volume at the next free device; returns the device."""
    draws = env.draws_for(ATTACH)

    async def work(session: AsyncSession) -> str:
        now = env.clock.now()
        server = await locked_server(session, server_id, now)
        _check_server(server, "attach_volume", now)
        volume = await locked_volume(session, volume_id, now)
        if volume.status != AVAILABLE:
            raise invalid_volume(
                f"Volume {volume.id} status must be 'available'. Currently in '{volume.status}'"
            )
        device = next_device(await attached_devices(session, server.id))
        volume.server_id, volume.device = server.id, device
        duration, fails = draws()
        begin(volume, ATTACH, "attaching", now=now, duration=duration, fails=fails)
        return device

    return await env.store.run(work, write=True)


async def detach(env: SimEnv, server_id: str, volume_id: str) -> None:
    """Detach a volume in-use on this server; one not attached to it is not an error."""
    duration = env.timing.draw(DETACH)

    async def work(session: AsyncSession) -> None:
        now = env.clock.now()
        server = await locked_server(session, server_id, now)
        volume = await find_volume(session, volume_id, now)
        if volume is None or volume.server_id != server.id or volume.status == "detaching":
            return
        _check_server(server, "detach_volume", now)
        if volume.device == ROOT_DEVICE and server.boot_volume_id == volume.id:
            raise ProviderBadRequest("Cannot detach a root device volume", status_code=400)
        if volume.status != IN_USE:
            raise invalid_volume(
                "Unable to detach volume. Volume status must be 'in-use' and attach_status "
                "must be 'attached' to detach."
            )
        begin(volume, DETACH, "detaching", now=now, duration=duration)

    await env.store.run(work, write=True)

"""Pending operations: how one starts, how it ends, and how a server looks meanwhile.

The end states come from semantics.nova.outcome_of; the failure modes follow nova/compute/manager.py
and nova/conductor/manager.py as noted at each branch.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.providers.base import Fault, FlavorSpec, ProviderServer
from stackgate.providers.simulator.bindings import release_server
from stackgate.providers.simulator.scheduler import NO_VALID_HOST
from stackgate.providers.simulator.tables import SimImage, SimServer
from stackgate.providers.simulator.timing import elapsed_fraction, step_of
from stackgate.semantics.nova import (
    PROGRESS,
    Action,
    PowerState,
    ServerView,
    VmState,
    derive_status,
    outcome_of,
)

NO_NETWORK = "Build of instance failed: Failed to allocate the network(s), not rescheduling."
DISK_DOWN = "Resize error: Unable to resize disk down."
IMAGE_ACTIVE = "active"
# Failures after which Nova puts the server back as it was instead of into ERROR.
_ROLLBACKS = ("no_host", "disk_down")


def flavor_data(flavor: FlavorSpec) -> dict[str, Any]:
    return {
        "id": flavor.id,
        "name": flavor.name,
        "vcpus": flavor.vcpus,
        "ram_mb": flavor.ram_mb,
        "disk_gb": flavor.disk_gb,
    }


def flavor_spec(data: dict[str, Any]) -> FlavorSpec:
    return FlavorSpec(
        name=data["name"],
        vcpus=int(data["vcpus"]),
        ram_mb=int(data["ram_mb"]),
        disk_gb=int(data["disk_gb"]),
        id=data.get("id"),
    )


def is_due(server: SimServer, now: datetime) -> bool:
    return server.action is not None and server.ends_at is not None and server.ends_at <= now


def shown_task(server: SimServer, now: datetime) -> str | None:
    """The task_state as Nova would report it now (BUILD walks scheduling -> spawning)."""
    steps = PROGRESS.get(server.action or "")
    if not steps or server.task_state not in steps:
        return server.task_state
    if any(server.params.get(flag) for flag in _ROLLBACKS):
        return steps[0]  # it never gets past the first step
    if server.started_at is None or server.ends_at is None:
        return server.task_state
    return step_of(steps, elapsed_fraction(server.started_at, server.ends_at, now))


def view_of(server: SimServer, now: datetime) -> ServerView:
    return ServerView(
        vm_state=server.vm_state,
        task_state=shown_task(server, now),
        launched=server.launched_at is not None,
        locked=server.locked,
    )


def to_dto(server: SimServer, now: datetime) -> ProviderServer:
    task = shown_task(server, now)
    fault = None
    # Nova shows `fault` only for ERROR (and DELETED) servers.
    if server.fault is not None and server.vm_state == VmState.ERROR:
        fault = Fault(
            code=int(server.fault["code"]),
            message=str(server.fault["message"]),
            created=datetime.fromisoformat(server.fault["created"]),
        )
    # Plain str/int, never the enums: the DTO looks the same before and after a reload.
    return ProviderServer(
        id=server.id,
        name=server.name,
        status=derive_status(server.vm_state, task),
        vm_state=str(server.vm_state),
        task_state=None if task is None else str(task),
        power_state=int(server.power_state),
        flavor=flavor_spec(server.flavor),
        image_id=server.image_id,
        ip_address=server.ip_address or server.port_address,
        host=server.host,
        fault=fault,
        launched_at=server.launched_at,
        tags=tuple(server.tags),
    )


def begin(
    server: SimServer,
    action: str,
    task: str | None,
    *,
    now: datetime,
    duration: timedelta,
    fails: bool,
    params: dict[str, Any] | None = None,
) -> None:
    """Record the pending operation; a new one replaces any running one (delete, hard reboot)."""
    server.action = action
    server.task_state = task
    server.started_at = now
    server.ends_at = now + duration
    server.will_fail = fails
    server.params = dict(params or {})


async def settle(session: AsyncSession, server: SimServer, now: datetime) -> bool:
    """Apply the pending operation if its time has come; False once the server is gone."""
    if not is_due(server, now):
        return True
    return await _finish(session, server)


async def settle_due(session: AsyncSession, now: datetime) -> None:
    """Apply every operation whose time has come (rows locked in id order)."""
    stmt = (
        select(SimServer)
        .where(SimServer.action.is_not(None), SimServer.ends_at <= now)
        .order_by(SimServer.id)
        .with_for_update()
    )
    for server in (await session.scalars(stmt)).all():
        await _finish(session, server)


async def servers_due(session: AsyncSession, now: datetime) -> bool:
    """Whether a server operation waits to be applied (it may bind or release ports and
    volumes, so the other proxies apply it before they answer)."""
    stmt = (
        select(SimServer.id).where(SimServer.action.is_not(None), SimServer.ends_at <= now).limit(1)
    )
    return (await session.scalar(stmt)) is not None


async def drop(session: AsyncSession, server: SimServer) -> None:
    """Remove a server; an unfinished snapshot dies with it, finished images outlive it, its
    ports are unbound and its volumes detached."""
    await release_server(session, server.id)
    await session.execute(
        delete(SimImage).where(SimImage.server_id == server.id, SimImage.status != IMAGE_ACTIVE)
    )
    await session.delete(server)
    await session.flush()


async def abandon(session: AsyncSession, server: SimServer) -> None:
    """Drop what a pending operation was making, before another replaces it."""
    if server.action == Action.SNAPSHOT and "image_id" in server.params:
        await session.execute(delete(SimImage).where(SimImage.id == server.params["image_id"]))


def _failure(server: SimServer) -> str | None:
    if server.params.get("no_host"):
        return NO_VALID_HOST
    if server.params.get("no_network"):
        return NO_NETWORK
    if server.params.get("disk_down"):
        return DISK_DOWN
    if server.will_fail:
        return f"Simulated failure during {server.action}"
    return None


async def _finish(session: AsyncSession, server: SimServer) -> bool:
    message = _failure(server)
    if server.action == Action.DELETE and message is None:
        await drop(session, server)
        return False
    if message is None:
        await _succeed(session, server)
    else:
        await _fail(session, server, message)
    server.action = server.task_state = server.started_at = server.ends_at = None
    server.will_fail = False
    server.params = {}
    return True


async def _succeed(session: AsyncSession, server: SimServer) -> None:
    action = server.action or ""
    outcome = outcome_of(action, vm_state=server.vm_state, power_state=server.power_state)
    if action == Action.CREATE:
        server.launched_at = server.ends_at
    elif action == Action.RESIZE:
        server.old_flavor, server.flavor = server.flavor, dict(server.params["flavor"])
    elif action == Action.CONFIRM_RESIZE:
        server.old_flavor = None
    elif action == Action.REVERT_RESIZE and server.old_flavor is not None:
        server.flavor, server.old_flavor = dict(server.old_flavor), None
    elif action == Action.SHELVE:
        server.host = None  # offloaded at once (shelved_offload_time=0): the host is freed
    elif action == Action.SNAPSHOT:
        image = await session.get(SimImage, server.params.get("image_id", ""), with_for_update=True)
        if image is not None:  # it may have been deleted while the snapshot ran
            image.status = IMAGE_ACTIVE
            image.size = int(server.params.get("size", 0))
    server.vm_state, server.power_state = outcome.vm_state, outcome.power_state


async def _fail(session: AsyncSession, server: SimServer, message: str) -> None:
    assert server.ends_at is not None
    server.fault = {"code": 500, "message": message, "created": server.ends_at.isoformat()}
    action = server.action
    rollback = any(server.params.get(flag) for flag in _ROLLBACKS)
    if action == Action.CREATE:
        # A failed build releases its host and port; it never launched (only delete helps).
        # Ports it was given are unbound and volumes detached (nova _cleanup_allocated_networks,
        # _cleanup_volumes).
        server.vm_state, server.power_state = VmState.ERROR, PowerState.NOSTATE
        server.host = server.ip_address = server.port_address = None
        await release_server(session, server.id)
    elif action == Action.SNAPSHOT:
        # nova's delete_image_on_error: the image goes, the server stays as it was.
        await abandon(session, server)
    elif action == Action.UNSHELVE and rollback:
        # conductor unshelve_instance on NoValidHost: task cleared, still SHELVED_OFFLOADED.
        server.host = None
    elif rollback:
        # conductor _cold_migrate on NoValidHost (and a refused disk shrink): state restored.
        pass
    else:
        server.vm_state = VmState.ERROR

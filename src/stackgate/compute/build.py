"""The multi-step server build (Nova's _build_and_run_instance, one step per worker turn):
wait for the ports (task_state networking) and the boot volume (block_device_mapping), create
the server on them (spawning), attach the data volumes, ACTIVE. When a step fails, the earlier
ones are undone (compensation): the cloud server is deleted and waited out, the ports and the
boot volume are deleted through their own operations, the data volumes are released, and the
server ends in ERROR with a fault naming the failed step.

Phases recorded on op.phase: submit (waiting for ports and volume) -> spawn -> poll -> attach
-> done, or -> compensate from any of them. Every cloud call here is repeatable.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.block_storage import public as block_storage_service
from stackgate.compute.states import TaskState, VmState
from stackgate.compute.steps import BuildFacts, OperationFacts, PortFact, Step, VolumeFact
from stackgate.core.clock import SystemClock
from stackgate.core.operations import OperationFactory
from stackgate.core.tags import tag_for
from stackgate.core.uow import UnitOfWork
from stackgate.network import public as network
from stackgate.providers.base import (
    Provider,
    ProviderError,
    ProviderNotFound,
    ProviderServer,
    ProviderUnavailable,
)

# Build steps named in faults (Nova's task states of the build).
NETWORKING = "networking"
BLOCK_DEVICE_MAPPING = "block_device_mapping"
SPAWNING = "spawning"
VOLUME_ATTACH = "volume_attach"
COMPENSATE = "compensate"

_RELEASE_OPERATIONS = OperationFactory(SystemClock(), timedelta(seconds=600))
_STEP_OF_PHASE = {
    "submit": NETWORKING,
    "spawn": SPAWNING,
    "poll": SPAWNING,
    "attach": VOLUME_ATTACH,
}
_PENDING_ATTACH = ("reserved", "attaching")
_IN_CLOUD = ("attaching", "in-use", "detaching")
_READY = ("available", "in-use", "reserved", "attaching")


async def load_facts(session: AsyncSession, server_id: str) -> BuildFacts:
    """Read the server's ports and volumes (short read transaction of a step)."""
    ports = await network.ports_of_server(session, server_id)
    volumes = (await block_storage_service.volumes_of_servers(session, [server_id])).get(
        server_id, []
    )
    return BuildFacts(
        ports=[PortFact(p.id, p.provider_id, p.status, p.error_message) for p in ports],
        volumes=[
            VolumeFact(v.id, v.provider_id, v.status, v.is_root, v.device, v.error_message)
            for v in volumes
        ],
    )


def failed(step: str, message: str, server: ProviderServer | None = None) -> Step:
    return Step("failed", server=server, message=message, updates={"build_step": step})


def step_of(phase: str) -> str:
    return _STEP_OF_PHASE.get(phase, SPAWNING)


async def drive(provider: Provider, s: OperationFacts) -> Step:
    """One step of a create operation on the cloud (no transaction open)."""
    if s.phase == COMPENSATE:
        return await compensate(provider, s)
    try:
        return await _advance(provider, s)
    except ProviderUnavailable:
        raise
    except ProviderError as exc:
        if isinstance(exc, ProviderNotFound) and s.phase in ("spawn", "poll"):
            return failed(SPAWNING, f"the server disappeared from the cloud: {exc.message}")
        return failed(step_of(s.phase), exc.message)


async def _advance(provider: Provider, s: OperationFacts) -> Step:
    facts = s.build
    if s.phase == "submit":
        waiting = _wait_for_resources(facts)
        if waiting is not None:
            return waiting
        s.phase = "spawn"
    if s.phase == "spawn":
        found = await provider.compute.servers(tags=(tag_for(s.server_id),))
        if found:
            s.provider_id = found[0].id
        else:
            boot = facts.boot
            spec = s.spec(
                port_ids=tuple(p.provider_id for p in facts.ports if p.provider_id),
                boot_volume_id=boot.provider_id if boot is not None else None,
            )
            s.provider_id = (await provider.compute.create_server(spec)).id
        step = await _poll(provider, s)
        step.updates.setdefault("phase", "poll")
        step.updates["provider_id"] = s.provider_id
        return step
    if s.phase == "poll":
        return await _poll(provider, s)
    if s.phase == "attach":
        return await _attach_next(provider, s)
    return failed(step_of(s.phase), f"unknown build phase {s.phase}")


def _wait_for_resources(facts: BuildFacts) -> Step | None:
    """A step while the ports or the boot volume are not ready in the cloud, else None."""
    broken = [p for p in facts.ports if p.status == "ERROR"]
    if broken:
        port = broken[0]
        return failed(NETWORKING, f"port {port.id} failed: {port.error_message or 'ERROR'}")
    if any(p.provider_id is None for p in facts.ports):
        return Step("progress", updates={"task_state": TaskState.NETWORKING, "waiting": True})
    boot = facts.boot
    if boot is not None:
        if boot.status == "error" or boot.status not in (*_READY, "creating"):
            reason = boot.error_message or boot.status
            return failed(BLOCK_DEVICE_MAPPING, f"boot volume {boot.id} failed: {reason}")
        if boot.provider_id is None or boot.status == "creating":
            return Step(
                "progress", updates={"task_state": TaskState.BLOCK_DEVICE_MAPPING, "waiting": True}
            )
    return None


async def _poll(provider: Provider, s: OperationFacts) -> Step:
    assert s.provider_id is not None
    current = await provider.compute.get_server(s.provider_id)
    if current.vm_state == VmState.ERROR:
        fault = current.fault
        return failed(SPAWNING, fault.message if fault else "the cloud failed the build", current)
    if current.task_state is not None or current.vm_state != VmState.ACTIVE:
        return Step("progress", server=current)
    if any(v.status in _PENDING_ATTACH for v in s.build.data):
        return Step("progress", server=current, updates={"phase": "attach", "enter_attach": True})
    return Step("done", server=current)


async def _attach_next(provider: Provider, s: OperationFacts) -> Step:
    """Attach one data volume (a crashed attempt's attachment is adopted, not repeated)."""
    assert s.provider_id is not None
    pending = [v for v in s.build.data if v.status in _PENDING_ATTACH]
    if not pending:
        return Step("done", server=await provider.compute.get_server(s.provider_id))
    volume = pending[0]
    if volume.provider_id is None:
        return failed(VOLUME_ATTACH, f"volume {volume.id} is not in the cloud")
    device = await attach_in_cloud(provider, s.provider_id, volume.provider_id)
    return Step("progress", updates={"attach": [volume.id, device], "immediate": True})


async def attach_in_cloud(provider: Provider, server_pid: str, volume_pid: str) -> str:
    """os-volume_attachments create, adopting an attachment an earlier attempt made."""
    current = await provider.block_storage.get_volume(volume_pid)
    for attachment in current.attachments:
        if attachment.server_id == server_pid:
            return attachment.device
    return await provider.compute.create_volume_attachment(server_pid, volume_pid)


async def detach_in_cloud(provider: Provider, server_pid: str, facts: BuildFacts) -> None:
    """Detach the data volumes the cloud may have attached, before the server goes."""
    for volume in facts.data:
        if volume.provider_id is not None and volume.status in _IN_CLOUD:
            with contextlib.suppress(ProviderNotFound):
                await provider.compute.delete_volume_attachment(server_pid, volume.provider_id)


async def compensate(provider: Provider, s: OperationFacts) -> Step:
    """Undo the build in the cloud: delete every server carrying our tag and wait until it is
    gone; then the rows are released (kind "compensated")."""
    found = await provider.compute.servers(tags=(tag_for(s.server_id),))
    for server in found:
        await detach_in_cloud(provider, server.id, s.build)
        await provider.compute.delete_server(server.id)
    if found and await provider.compute.servers(tags=(tag_for(s.server_id),)):
        return Step(
            "progress",
            message="undoing the build: waiting for the server to go",
            updates={"waiting": True},
        )
    step = str(s.params.get("failed_step") or SPAWNING)
    cause = str(s.params.get("cause") or "unknown failure")
    return Step("compensated", message=f"Build failed at step {step}: {cause}")


def enter_compensation(params: dict[str, Any], phase: str, step: Step) -> dict[str, Any]:
    """The create operation's params once a build step has failed."""
    return {
        **params,
        "failed_step": step.updates.get("build_step") or step_of(phase),
        "cause": step.message or "unknown failure",
    }


async def release_resources(uow: UnitOfWork, server_id: str, *, build_failed: bool) -> None:
    """The rows side of deleting a server or undoing its build: ports get their delete
    operations (floating IPs disassociated), the boot volume is deleted (on a failed build, or
    with delete_on_termination) or detached, data volumes become available again."""
    # Compute's worker is not handed the configured factory yet (the compute side of issue 12).
    await network.release_server_ports(uow, None, server_id, operations=_RELEASE_OPERATIONS)
    session = uow.session
    volumes = (await block_storage_service.volumes_of_servers(session, [server_id])).get(
        server_id, []
    )
    for volume in volumes:
        if volume.is_root and (build_failed or volume.delete_on_termination):
            await block_storage_service.delete_volume_later(uow, volume.id)
        elif volume.status in _PENDING_ATTACH:
            await block_storage_service.release_reservation(session, volume.id)
        else:
            await block_storage_service.mark_detached(session, volume.id)


async def record_progress(
    session: AsyncSession, server_id: str, facts: BuildFacts, step: Step, now: datetime
) -> None:
    """Volume rows moved by a build step: attaching on entering the attach phase, in-use
    with the device the cloud chose after each attachment."""
    if step.updates.get("enter_attach"):
        for volume in facts.data:
            if volume.status == "reserved":
                await block_storage_service.mark_attaching(session, volume.id)
    attach = step.updates.get("attach")
    if attach is not None:
        volume_id, device = attach
        await block_storage_service.mark_attached(session, volume_id, server_id, device, now)


async def record_active(
    session: AsyncSession, server_id: str, facts: BuildFacts, now: datetime
) -> None:
    """The boot volume is in use as /dev/vda once the server is ACTIVE."""
    boot = facts.boot
    if boot is not None and boot.status != "in-use":
        await block_storage_service.mark_attached(
            session, boot.id, server_id, boot.device or "/dev/vda", now
        )

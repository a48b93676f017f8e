"""Worker side of the one-call actions (start, stop, reboot, resize, snapshot, ... and delete):
ask the cloud once, then poll the server until its task ends, and record where it settled.

A retried submit first checks whether the cloud already did it, so a crash between the call
and the record does not repeat the action.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from stackgate.catalog import public as catalog_service
from stackgate.compute.models import Server
from stackgate.compute.servers.handlers import (
    OperationFacts,
    ServerOutcome,
    ServerStep,
    detach_in_cloud,
    detail_of,
    fail,
    release_resources,
    show_progress,
)
from stackgate.core.operations import Operation, OperationFactory, OpResult
from stackgate.core.tags import tag_for
from stackgate.core.uow import UnitOfWork
from stackgate.providers.base import FlavorSpec, Provider, ProviderError, ProviderNotFound
from stackgate.semantics.nova import TRANSITIONAL, Action, VmState
from stackgate.worker.handler import Kind, Outcome

# Where an action leaves a server when it worked (nova/compute/manager.py).
EXPECTED_VM_STATE: dict[str, str] = {
    Action.START: VmState.ACTIVE,
    Action.STOP: VmState.STOPPED,
    Action.PAUSE: VmState.PAUSED,
    Action.UNPAUSE: VmState.ACTIVE,
    Action.SUSPEND: VmState.SUSPENDED,
    Action.RESUME: VmState.ACTIVE,
    Action.RESIZE: VmState.RESIZED,
    Action.SHELVE: VmState.SHELVED_OFFLOADED,
    Action.UNSHELVE: VmState.ACTIVE,
}


async def drive(provider: Provider, s: OperationFacts) -> ServerOutcome:
    """One step of an action on the cloud (no transaction open)."""
    if s.phase == "submit":
        submitted = await _submit(provider, s)
        if s.provider_id is None:  # delete of a server the cloud never had
            return Outcome(Kind.GONE, detail=submitted)
        outcome = await _poll(provider, s)
        detail = detail_of(outcome)
        detail.params = submitted.params
        detail.phase = "poll"
        outcome.detail = detail
        return outcome
    if s.provider_id is None:
        return Outcome(Kind.GONE)
    return await _poll(provider, s)


async def _submit(provider: Provider, s: OperationFacts) -> ServerStep:
    """Ask the cloud to act; on a repeated attempt first check it already did."""
    compute = provider.compute
    if s.action == Action.DELETE and s.provider_id is None:
        found = await compute.servers(tags=(tag_for(s.server_id),))
        if not found:
            return ServerStep()
        s.provider_id = found[0].id
    assert s.provider_id is not None
    pid = s.provider_id
    if s.attempts > 1 and s.action != Action.DELETE:
        current = await compute.get_server(pid)
        if current.task_state is not None or current.vm_state == EXPECTED_VM_STATE.get(s.action):
            return ServerStep()
    match s.action:
        case Action.DELETE:
            await detach_in_cloud(provider, pid, s.build)
            await compute.delete_server(pid)
        case Action.START:
            await compute.start_server(pid)
        case Action.STOP:
            await compute.stop_server(pid)
        case Action.REBOOT:
            await compute.reboot_server(pid, str(s.params.get("type", "SOFT")))
        case Action.PAUSE:
            await compute.pause_server(pid)
        case Action.UNPAUSE:
            await compute.unpause_server(pid)
        case Action.SUSPEND:
            await compute.suspend_server(pid)
        case Action.RESUME:
            await compute.resume_server(pid)
        case Action.RESIZE:
            await compute.resize_server(pid, FlavorSpec(**s.params["flavor"]))
        case Action.CONFIRM_RESIZE:
            await compute.confirm_server_resize(pid)
        case Action.REVERT_RESIZE:
            await compute.revert_server_resize(pid)
        case Action.REBUILD:
            await compute.rebuild_server(pid, s.cloud_image(s.params["image"]))
        case Action.SHELVE:
            await compute.shelve_server(pid)
        case Action.UNSHELVE:
            await compute.unshelve_server(pid)
        case Action.SNAPSHOT:
            image = await compute.create_server_image(pid, str(s.params["name"]))
            s.params["provider_image_id"] = image.id
            return ServerStep(params=dict(s.params))
        case _:
            raise ProviderError(f"unsupported action {s.action}")
    return ServerStep()


async def _poll(provider: Provider, s: OperationFacts) -> ServerOutcome:
    assert s.provider_id is not None
    try:
        current = await provider.compute.get_server(s.provider_id)
    except ProviderNotFound:
        if s.action == Action.DELETE:
            return Outcome(Kind.DONE)
        raise
    seen = ServerStep(server=current)
    if current.task_state is not None or current.status in TRANSITIONAL:
        return Outcome(Kind.PROGRESS, detail=seen)
    if s.action == Action.DELETE:
        return Outcome(Kind.PROGRESS, detail=seen)  # not gone yet
    if current.vm_state == VmState.ERROR:
        fault = current.fault
        return Outcome(
            Kind.FAILED,
            message=fault.message if fault else f"{s.action} failed in the cloud",
            fault_code=fault.code if fault else 500,
            detail=seen,
        )
    if s.action == Action.SNAPSHOT:
        try:
            image = await provider.image.get_image(str(s.params["provider_image_id"]))
        except ProviderNotFound:
            # Nova deletes the image of a failed snapshot and leaves the server as it was.
            return Outcome(Kind.UNDONE, message="the cloud discarded the snapshot", detail=seen)
        seen.image = image
        if image.status in ("queued", "saving"):
            return Outcome(Kind.PROGRESS, detail=seen)
        if image.status != "active":
            return Outcome(
                Kind.FAILED, message=f"snapshot upload ended {image.status}", detail=seen
            )
        return Outcome(Kind.DONE, detail=seen)
    expected = EXPECTED_VM_STATE.get(s.action)
    if expected is not None and current.vm_state != expected:
        # Nova rolls some failures back instead of erroring (no valid host on unshelve or
        # resize): the task ends, the server is where it was, the action failed.
        return Outcome(
            Kind.UNDONE,
            message=f"{s.action} did not take effect; the server is {current.status}",
            detail=seen,
        )
    return Outcome(Kind.DONE, detail=seen)


async def record(
    uow: UnitOfWork,
    op: Operation,
    server: Server,
    s: OperationFacts,
    outcome: ServerOutcome,
    now: datetime,
    reschedule: Callable[[Operation, ServerOutcome, datetime], None],
    operations: OperationFactory,
) -> None:
    """An action step's outcome on the server row and the operation."""
    detail = detail_of(outcome)
    match outcome.kind:
        case Kind.PROGRESS | Kind.RETRY:
            if outcome.kind == Kind.PROGRESS and detail.server is not None:
                show_progress(server, s.action, detail.server)
            reschedule(op, outcome, now)
        case Kind.DONE:
            await settle(uow, server, s, detail, now, operations)
            op.finish(OpResult.SUCCESS, now=now)
        case Kind.GONE:
            if s.action == Action.DELETE:
                await deleted(uow, server, now, operations)
                op.finish(OpResult.SUCCESS, now=now)
            else:
                fail(server, now, 500, "the server disappeared from the cloud")
                op.finish(
                    OpResult.ERROR, outcome.message or "server not found in the cloud", now=now
                )
        case Kind.UNDONE:
            assert detail.server is not None
            if s.action == Action.SNAPSHOT:
                await catalog_service.fail_snapshot(uow, s.params.get("image_id"))
            server.set_state(detail.server.vm_state, None, detail.server.power_state)
            server.host = detail.server.host
            op.finish(OpResult.ERROR, outcome.message, now=now)
        case _:
            await fail_operation(uow, server, s, outcome, now)
            op.finish(OpResult.ERROR, outcome.message, now=now)


async def settle(
    uow: UnitOfWork,
    server: Server,
    s: OperationFacts,
    detail: ServerStep,
    now: datetime,
    operations: OperationFactory,
) -> None:
    """A finished action's effect on the row: the cloud's state, the flavor or image of record,
    the snapshot image made active; a delete releases ports and volumes."""
    if s.action == Action.DELETE:
        await deleted(uow, server, now, operations)
        return
    current = detail.server
    assert current is not None
    if s.action == Action.RESIZE:
        server.old_flavor = _flavor_copy(server)
        _apply_flavor(server, s.params["flavor"])
    elif s.action == Action.REVERT_RESIZE and server.old_flavor:
        _apply_flavor(server, server.old_flavor)
        server.old_flavor = None
    elif s.action == Action.CONFIRM_RESIZE:
        server.old_flavor = None
    elif s.action == Action.REBUILD:
        server.image_id = s.params["image"]["id"]
        server.image_name = s.params["image"]["name"]
    elif s.action == Action.SNAPSHOT and detail.image is not None:
        image = await catalog_service.get_image_row(uow, str(s.params["image_id"]))
        if image is not None:
            image.status = "active"
            image.size_bytes = detail.image.size_bytes
            image.provider_id = detail.image.id
    server.set_state(current.vm_state, None, current.power_state)
    server.ip_address = current.ip_address or server.ip_address
    server.host = current.host
    if server.launched_at is None and current.vm_state == VmState.ACTIVE:
        server.launched_at = current.launched_at or now
    if current.vm_state != VmState.ERROR:
        server.fault_code = server.fault_message = server.fault_created_at = None


async def fail_operation(
    uow: UnitOfWork, server: Server, s: OperationFacts, outcome: ServerOutcome, now: datetime
) -> None:
    """A failed action's effect: the task just ends when the cloud refused it; otherwise the
    server goes to ERROR with the cloud's fault (or ours)."""
    if s.action == Action.SNAPSHOT:
        await catalog_service.fail_snapshot(uow, s.params.get("image_id"))
    current = detail_of(outcome).server
    refused = current is None and outcome.message is not None and outcome.kind == Kind.FAILED
    if refused and s.action not in (Action.CREATE, Action.DELETE) and not s.deadline_passed(now):
        # The cloud refused the request: nothing changed there, so only the task ends.
        server.set_state(server.vm_state, None)
        return
    if current is not None and current.fault is not None:
        fail(server, current.fault.created, current.fault.code, current.fault.message)
        server.power_state = current.power_state
        server.host = current.host
        return
    fail(server, now, outcome.fault_code, outcome.message or f"{s.action} failed")


def _flavor_copy(server: Server) -> dict[str, Any]:
    return {
        "id": server.flavor_id,
        "name": server.flavor_name,
        "vcpus": server.vcpus,
        "ram_mb": server.ram_mb,
        "disk_gb": server.disk_gb,
    }


def _apply_flavor(server: Server, flavor: dict[str, Any]) -> None:
    server.flavor_id = flavor.get("id")
    server.flavor_name = flavor["name"]
    server.vcpus = flavor["vcpus"]
    server.ram_mb = flavor["ram_mb"]
    server.disk_gb = flavor["disk_gb"]


async def deleted(
    uow: UnitOfWork, server: Server, now: datetime, operations: OperationFactory
) -> None:
    """The server is gone from the cloud: release its ports and volumes, keep the row as
    DELETED. A server that never ran (its build cancelled by the delete) takes its boot volume
    with it: that volume was made only for the build."""
    await release_resources(
        uow, server.id, build_failed=server.launched_at is None, operations=operations, now=now
    )
    mark_deleted(server, now)


def mark_deleted(server: Server, now: datetime) -> None:
    server.set_state(VmState.DELETED, None, 0)
    server.deleted_at = now
    server.host = None

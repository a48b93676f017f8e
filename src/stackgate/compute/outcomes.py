"""How a finished step changes the server row: success settles it on the cloud's state,
failure ends the task or puts the server in ERROR (compute/handlers.py decides which)."""

from __future__ import annotations

from datetime import datetime

from stackgate.catalog import public as catalog_service
from stackgate.compute import build
from stackgate.compute.models import Server
from stackgate.compute.states import Action, VmState
from stackgate.compute.steps import (
    OperationFacts,
    Step,
    apply_flavor,
    fail,
    flavor_copy,
    mark_deleted,
)
from stackgate.core.uow import UnitOfWork


async def deleted(uow: UnitOfWork, server: Server, now: datetime) -> None:
    """The server is gone from the cloud: release its ports and volumes, keep the row as
    DELETED. A server that never ran (its build cancelled by the delete) takes its boot volume
    with it: that volume was made only for the build."""
    await build.release_resources(uow, server.id, build_failed=server.launched_at is None)
    mark_deleted(server, now)


async def settle(
    uow: UnitOfWork, server: Server, s: OperationFacts, step: Step, now: datetime
) -> None:
    """A finished action's effect on the row: the cloud's state, the flavor or image of record,
    the snapshot image made active; a delete releases ports and volumes."""
    if s.action == Action.DELETE:
        await deleted(uow, server, now)
        return
    current = step.server
    assert current is not None
    if s.action == Action.RESIZE:
        server.old_flavor = flavor_copy(server)
        apply_flavor(server, s.params["flavor"])
    elif s.action == Action.REVERT_RESIZE and server.old_flavor:
        apply_flavor(server, server.old_flavor)
        server.old_flavor = None
    elif s.action == Action.CONFIRM_RESIZE:
        server.old_flavor = None
    elif s.action == Action.REBUILD:
        server.image_id = s.params["image"]["id"]
        server.image_name = s.params["image"]["name"]
    elif s.action == Action.SNAPSHOT and step.image is not None:
        image = await catalog_service.get_image_row(uow, str(s.params["image_id"]))
        if image is not None:
            image.status = "active"
            image.size_bytes = step.image.size_bytes
            image.provider_id = step.image.id
    server.set_state(current.vm_state, None, current.power_state)
    server.ip_address = current.ip_address or server.ip_address
    server.host = current.host
    if server.launched_at is None and current.vm_state == VmState.ACTIVE:
        server.launched_at = current.launched_at or now
    if current.vm_state != VmState.ERROR:
        server.fault_code = server.fault_message = server.fault_created_at = None


async def fail_operation(
    uow: UnitOfWork, server: Server, s: OperationFacts, step: Step, now: datetime
) -> None:
    """A failed action's effect: the task just ends when the cloud refused it; otherwise the
    server goes to ERROR with the cloud's fault (or ours)."""
    if s.action == Action.SNAPSHOT:
        await catalog_service.fail_snapshot(uow, s.params.get("image_id"))
    current = step.server
    refused = current is None and step.message is not None and step.kind == "failed"
    if refused and s.action not in (Action.CREATE, Action.DELETE) and not s.deadline_passed(now):
        # The cloud refused the request: nothing changed there, so only the task ends.
        server.set_state(server.vm_state, None)
        return
    if current is not None and current.fault is not None:
        fail(server, current.fault.created, current.fault.code, current.fault.message)
        server.power_state = current.power_state
        server.host = current.host
        return
    fail(server, now, step.fault_code, step.message or f"{s.action} failed")

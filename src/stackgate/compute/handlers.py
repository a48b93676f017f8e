"""Worker side of server operations: drive the cloud, then record what it did.

Each step reads the operation (short transaction), calls the provider with no transaction
open, then writes the outcome in a second short transaction that first checks the operation is
still ours. Every step is safe to repeat, so a crash anywhere resumes from the row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.catalog import public as catalog_service
from stackgate.compute import build, outcomes, volume_steps
from stackgate.compute.models import Server
from stackgate.compute.service import TRANSITIONAL, ComputeUoW
from stackgate.compute.states import Action, VmState
from stackgate.compute.steps import (
    EXPECTED_VM_STATE,
    OperationFacts,
    Step,
    fail,
    looks_done,
    show_progress,
)
from stackgate.core.clock import Clock
from stackgate.core.errors import ConcurrentUpdate
from stackgate.core.operations import Operation, OpResult, OpState
from stackgate.core.tags import tag_for
from stackgate.providers.base import (
    FlavorSpec,
    ProviderError,
    ProviderNotFound,
    ProviderUnavailable,
)
from stackgate.worker.base import ProviderHandler

log = structlog.get_logger("stackgate.worker")
_EAGER_WAITS = 5
_WITH_RESOURCES = frozenset(
    {Action.CREATE, Action.DELETE, Action.ATTACH_VOLUME, Action.DETACH_VOLUME}
)


class ServerOperationHandler(ProviderHandler):
    async def handle(self, op_id: str, owner: str) -> None:
        """Advance one server operation by one step."""
        async with ComputeUoW(self._sessionmaker) as uow:
            op = await uow.operations.get(op_id)
            if op is None or op.lease_owner != owner:
                return
            if op.state != OpState.PENDING:  # cancelled since we claimed it
                op.lease_owner = op.lease_until = None
                await uow.commit()
                return
            server = await uow.servers.get_unscoped(op.resource_id)
            if server is None:
                op.finish(OpResult.ERROR, "server row missing")
                await uow.commit()
                return
            named = [server.image_id, op.params.get("image", {}).get("id")]
            refs = await catalog_service.cloud_image_refs(uow, named)
            snapshot = OperationFacts.of(op, server, refs)
            if snapshot.action in _WITH_RESOURCES:
                snapshot.build = await build.load_facts(uow.session, server.id)
            now = self._clock.now()
            # A delete waits until a step of another operation (a create that may be making
            # the server in the cloud right now) has ended, so it can find what that made.
            busy = (
                snapshot.action == Action.DELETE
                and snapshot.phase == "submit"
                and (await uow.operations.leased_for_resource(server.id, now=now, exclude=op.id))
            )
        undoing = snapshot.action == Action.CREATE and snapshot.phase == build.COMPENSATE
        if busy:
            step = Step("progress")
        elif now >= snapshot.deadline and not undoing:
            step = Step("failed", message=f"{snapshot.action} did not finish within its deadline")
        else:
            try:
                step = await self._drive(snapshot)
            except ProviderUnavailable as exc:
                step = Step("retry", message=f"cloud unavailable: {exc.message}")
            except ProviderNotFound as exc:
                step = Step("gone", message=exc.message)
            except ProviderError as exc:
                step = Step("failed", message=exc.message, fault_code=exc.status_code or 500)
        for _ in range(3):
            try:
                await self._record(op_id, owner, snapshot, step)
                break
            except ConcurrentUpdate:
                # A request changed the server meanwhile (a PATCH, a delete): what the cloud
                # said still holds, so write it again on the fresh row.
                continue

    async def _drive(self, s: OperationFacts) -> Step:
        if s.action == Action.CREATE:
            return await build.drive(self._provider, s)
        if s.action in volume_steps.VOLUME_ACTIONS:
            return await volume_steps.drive(self._provider, s)
        if s.phase == "submit":
            updates = await self._submit(s)
            if "provider_id" in updates:
                s.provider_id = updates["provider_id"]
            if s.provider_id is None:  # delete of a server the cloud never had
                return Step("gone", updates=updates)
            step = await self._poll(s)
            step.updates.update(updates, phase="poll")
            return step
        if s.provider_id is None:
            return Step("gone")
        return await self._poll(s)

    async def _submit(self, s: OperationFacts) -> dict[str, Any]:
        """Ask the cloud to act; on a repeated attempt first check it already did."""
        compute = self._provider.compute
        if s.action in (Action.CREATE, Action.DELETE) and s.provider_id is None:
            found = await compute.servers(tags=(tag_for(s.server_id),))
            if found:
                s.provider_id = found[0].id
            elif s.action == Action.CREATE:
                created = await compute.create_server(s.spec())
                return {"provider_id": created.id}
            else:
                return {}
            if s.action == Action.CREATE:
                return {"provider_id": s.provider_id}
        assert s.provider_id is not None
        pid = s.provider_id
        if s.attempts > 1 and s.action != Action.DELETE:
            current = await compute.get_server(pid)
            if current.task_state is not None or looks_done(s, current):
                return {}
        match s.action:
            case Action.DELETE:
                await build.detach_in_cloud(self._provider, pid, s.build)
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
                return {"params": dict(s.params)}
            case _:
                raise ProviderError(f"unsupported action {s.action}")
        return {}

    async def _poll(self, s: OperationFacts) -> Step:
        assert s.provider_id is not None
        try:
            current = await self._provider.compute.get_server(s.provider_id)
        except ProviderNotFound:
            if s.action == Action.DELETE:
                return Step("done")
            raise
        busy = current.task_state is not None or current.status in TRANSITIONAL
        if busy:
            return Step("progress", server=current)
        if s.action == Action.DELETE:
            return Step("progress", server=current)  # not gone yet
        if current.vm_state == VmState.ERROR:
            fault = current.fault
            return Step(
                "failed",
                server=current,
                message=fault.message if fault else f"{s.action} failed in the cloud",
                fault_code=fault.code if fault else 500,
            )
        if s.action == Action.SNAPSHOT:
            try:
                image = await self._provider.image.get_image(str(s.params["provider_image_id"]))
            except ProviderNotFound:
                # Nova deletes the image of a failed snapshot and leaves the server as it was.
                return Step("undone", server=current, message="the cloud discarded the snapshot")
            if image.status in ("queued", "saving"):
                return Step("progress", server=current, image=image)
            if image.status != "active":
                return Step(
                    "failed",
                    server=current,
                    image=image,
                    message=f"snapshot upload ended {image.status}",
                )
            return Step("done", server=current, image=image)
        expected = EXPECTED_VM_STATE.get(s.action)
        if expected is not None and current.vm_state != expected:
            # Nova rolls some failures back instead of erroring (no valid host on unshelve or
            # resize): the task ends, the server is where it was, the action failed.
            return Step(
                "undone",
                server=current,
                message=f"{s.action} did not take effect; the server is {current.status}",
            )
        return Step("done", server=current)

    async def _record(self, op_id: str, owner: str, s: OperationFacts, step: Step) -> None:
        now = self._clock.now()
        async with ComputeUoW(self._sessionmaker) as uow:
            op = await uow.operations.get(op_id)
            if op is None or op.lease_owner != owner:
                return  # our lease was lost: the new owner decides
            if op.state != OpState.PENDING:
                # Cancelled meanwhile: record nothing, but let go, so a waiting delete goes on.
                op.lease_owner = op.lease_until = None
                await uow.commit()
                return
            server = await uow.servers.get_unscoped(s.server_id)
            if server is None:
                return
            if "provider_id" in step.updates:
                server.provider_id = step.updates["provider_id"]
            if "params" in step.updates:
                op.params = step.updates["params"]
            if "phase" in step.updates:
                op.phase = step.updates["phase"]
            if s.action == Action.CREATE:
                await self._record_build(uow, op, server, s, step, now)
                step_kind = None
            elif s.action in volume_steps.VOLUME_ACTIONS:
                await volume_steps.record(uow.session, s, step, now)
                self._end_or_reschedule(op, step, now)
                step_kind = None
            else:
                step_kind = step.kind
            match step_kind:
                case "progress" | "retry":
                    if step.kind == "progress" and step.server is not None:
                        show_progress(server, s.action, step.server)
                    delay = self._backoff(op.attempts if step.kind == "retry" else 0)
                    op.next_attempt_at = now + timedelta(seconds=delay)
                    op.lease_owner = None
                    op.lease_until = None
                    if step.message:
                        op.message = step.message
                case "done":
                    await outcomes.settle(uow, server, s, step, now)
                    op.finish(OpResult.SUCCESS)
                case "gone":
                    if s.action == Action.DELETE:
                        await outcomes.deleted(uow, server, now)
                        op.finish(OpResult.SUCCESS)
                    else:
                        fail(server, now, 500, "the server disappeared from the cloud")
                        op.finish(OpResult.ERROR, step.message or "server not found in the cloud")
                case "undone":
                    assert step.server is not None
                    if s.action == Action.SNAPSHOT:
                        await catalog_service.fail_snapshot(uow, s.params.get("image_id"))
                    server.set_state(step.server.vm_state, None, step.server.power_state)
                    server.host = step.server.host
                    op.finish(OpResult.ERROR, step.message)
                case "failed":
                    await outcomes.fail_operation(uow, server, s, step, now)
                    op.finish(OpResult.ERROR, step.message)
            server.updated_at = now
            await uow.commit()
        log.info(
            "operation_step",
            op_id=op_id,
            action=s.action,
            kind=step.kind,
            server_id=s.server_id,
            message=step.message,
        )

    async def _record_build(
        self,
        uow: ComputeUoW,
        op: Operation,
        server: Server,
        s: OperationFacts,
        step: Step,
        now: datetime,
    ) -> None:
        """A create step's outcome: progress, compensation on a failure, ERROR once undone."""
        kind = step.kind
        if kind in ("failed", "gone") and s.phase == build.COMPENSATE:
            kind = "retry"  # undoing must finish: keep trying
        match kind:
            case "progress" | "retry":
                task = step.updates.get("task_state")
                if task is not None:
                    server.set_state(VmState.BUILDING, task)
                elif kind == "progress" and step.server is not None:
                    show_progress(server, s.action, step.server)
                await build.record_progress(uow.session, server.id, s.build, step, now)
                self._reschedule(op, step, now)
            case "failed" | "gone":
                op.phase = build.COMPENSATE
                op.params = build.enter_compensation(dict(op.params), s.phase, step)
                op.message = step.message
                op.next_attempt_at = now
                op.lease_owner = op.lease_until = None
            case "compensated":
                await build.release_resources(uow, server.id, build_failed=True)
                fail(server, now, 500, step.message or "Build failed")
                server.ip_address = None
                op.finish(OpResult.ERROR, step.message)
            case "done":
                await build.record_active(uow.session, server.id, s.build, now)
                await outcomes.settle(uow, server, s, step, now)
                op.finish(OpResult.SUCCESS)

    def _reschedule(self, op: Operation, step: Step, now: datetime) -> None:
        # Waiting for ports or a volume: their workers usually finish within a few turns, so
        # look again at once a few times before falling back to the poll interval.
        waiting = step.updates.get("waiting") and op.attempts <= _EAGER_WAITS
        immediate = step.kind == "progress" and (step.updates.get("immediate") or waiting)
        delay = 0.0 if immediate else self._backoff(op.attempts if step.kind == "retry" else 0)
        op.next_attempt_at = now + timedelta(seconds=delay)
        op.lease_owner = op.lease_until = None
        if step.message:
            op.message = step.message

    def _end_or_reschedule(self, op: Operation, step: Step, now: datetime) -> None:
        if step.kind == "done":
            op.finish(OpResult.SUCCESS)
        elif step.kind in ("failed", "gone"):
            op.finish(OpResult.ERROR, step.message)
        else:
            self._reschedule(op, step, now)


async def repair_orphans(
    sessionmaker: async_sessionmaker[AsyncSession], *, clock: Clock, limit: int = 100
) -> int:
    """Servers showing a task that no operation drives any more: end the task honestly."""
    now = clock.now()
    async with ComputeUoW(sessionmaker) as uow:
        stuck = await uow.servers.stuck(limit=limit)
        for server in stuck:
            if server.vm_state == VmState.BUILDING:
                fail(server, now, 500, "the build was interrupted and cannot be resumed")
            else:
                server.set_state(server.vm_state, None)
            server.updated_at = now
        await uow.commit()
    return len(stuck)

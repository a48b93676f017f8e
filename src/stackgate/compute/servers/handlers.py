"""The server operation handler, and the create's worker side: the multi-step build (Nova's
_build_and_run_instance, one step per worker turn). It waits for the ports (task_state
networking) and the boot volume (block_device_mapping), creates the server on them (spawning),
attaches the data volumes, ACTIVE. When a step fails, the earlier ones are undone
(compensation): the cloud server is deleted and waited out, the ports and the boot volume are
deleted through their own operations, the data volumes are released, and the server ends in
ERROR with a fault naming the failed step.

Phases recorded on op.phase: submit (waiting for ports and volume) -> spawn -> poll -> attach
-> done, or -> compensate from any of them. Every cloud call here is repeatable. The other
actions are driven by their sub-features' handlers (actions/, volume_attachments/).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.block_storage import service as block_storage_service
from stackgate.catalog import service as catalog_service
from stackgate.compute.actions import handlers as actions
from stackgate.compute.handlers import (
    PENDING_ATTACH,
    BuildFacts,
    OperationFacts,
    ServerOutcome,
    ServerStep,
    attach_in_cloud,
    detach_in_cloud,
    detail_of,
    fail,
    load_build_facts,
    release_resources,
    show_progress,
)
from stackgate.compute.models import Server
from stackgate.compute.repository import ComputeUoW
from stackgate.compute.volume_attachments import handlers as volume_attachments
from stackgate.core.clock import Clock
from stackgate.core.operations import Operation, OpResult
from stackgate.core.tags import tag_for
from stackgate.providers.base import (
    Provider,
    ProviderError,
    ProviderNotFound,
    ProviderServer,
    ProviderUnavailable,
)
from stackgate.semantics.nova import Action, TaskState, VmState
from stackgate.worker.handler import Kind, OperationHandler, Outcome

# Build steps named in faults (Nova's task states of the build).
NETWORKING = "networking"
BLOCK_DEVICE_MAPPING = "block_device_mapping"
SPAWNING = "spawning"
VOLUME_ATTACH = "volume_attach"
COMPENSATE = "compensate"

_STEP_OF_PHASE = {
    "submit": NETWORKING,
    "spawn": SPAWNING,
    "poll": SPAWNING,
    "attach": VOLUME_ATTACH,
}
_READY = ("available", "in-use", "reserved", "attaching")
_EAGER_WAITS = 5
_WITH_RESOURCES = frozenset(
    {Action.CREATE, Action.DELETE, Action.ATTACH_VOLUME, Action.DETACH_VOLUME}
)


class ServerOperationHandler(OperationHandler[ComputeUoW, OperationFacts, ServerStep]):
    def uow(self) -> ComputeUoW:
        return ComputeUoW(self._sessionmaker)

    async def load(self, uow: ComputeUoW, op: Operation) -> OperationFacts | ServerOutcome:
        server = await uow.servers.get_unscoped(op.resource_id)
        if server is None:
            return Outcome(Kind.FAILED, message="server row missing")
        named = [server.image_id, op.params.get("image", {}).get("id")]
        refs = await catalog_service.cloud_image_refs(uow, named)
        facts = OperationFacts.of(op, server, refs)
        if facts.action in _WITH_RESOURCES:
            facts.build = await load_build_facts(uow.session, server.id)
        return facts

    def deadline_applies(self, facts: OperationFacts) -> bool:
        # Undoing a failed create must finish, however late.
        return not (facts.action == Action.CREATE and facts.phase == COMPENSATE)

    async def drive(self, facts: OperationFacts) -> ServerOutcome:
        if facts.action == Action.CREATE:
            return await _build(self._provider, facts)
        if facts.action in volume_attachments.VOLUME_ACTIONS:
            return await volume_attachments.drive(self._provider, facts)
        return await actions.drive(self._provider, facts)

    async def record(
        self,
        uow: ComputeUoW,
        op: Operation,
        facts: OperationFacts,
        outcome: ServerOutcome,
        now: datetime,
    ) -> None:
        server = await uow.servers.get_unscoped(facts.server_id)
        if server is None:
            return
        detail = detail_of(outcome)
        if detail.provider_id is not None:
            server.provider_id = detail.provider_id
        if detail.params is not None:
            op.params = detail.params
        if detail.phase is not None:
            op.phase = detail.phase
        if facts.action == Action.CREATE:
            await self._record_build(uow, op, server, facts, outcome, now)
        elif facts.action in volume_attachments.VOLUME_ACTIONS:
            await volume_attachments.record(uow.session, facts, outcome, now)
            if outcome.ends:
                self.settle(op, outcome, now)
            else:
                self._reschedule(op, outcome, now)
        else:
            await actions.record(uow, op, server, facts, outcome, now, self._reschedule)
        server.updated_at = now

    async def _record_build(
        self,
        uow: ComputeUoW,
        op: Operation,
        server: Server,
        s: OperationFacts,
        outcome: ServerOutcome,
        now: datetime,
    ) -> None:
        """A create step's outcome: progress, compensation on a failure, ERROR once undone."""
        detail = detail_of(outcome)
        kind = outcome.kind
        if kind in (Kind.FAILED, Kind.GONE) and s.phase == COMPENSATE:
            kind = Kind.RETRY  # undoing must finish: keep trying
        match kind:
            case Kind.PROGRESS | Kind.RETRY:
                if detail.task_state is not None:
                    server.set_state(VmState.BUILDING, detail.task_state)
                elif kind == Kind.PROGRESS and detail.server is not None:
                    show_progress(server, s.action, detail.server)
                await _record_progress(uow.session, server.id, s.build, detail, now)
                self._reschedule(op, outcome, now)
            case Kind.FAILED | Kind.GONE:
                op.phase = COMPENSATE
                op.params = {
                    **op.params,
                    "failed_step": detail.build_step or _step_of(s.phase),
                    "cause": outcome.message or "unknown failure",
                }
                op.message = outcome.message
                op.reschedule(now)
            case Kind.COMPENSATED:
                await release_resources(uow, server.id, build_failed=True)
                fail(server, now, 500, outcome.message or "Build failed")
                server.ip_address = None
                op.finish(OpResult.ERROR, outcome.message, now=now)
            case Kind.DONE:
                await _record_active(uow.session, server.id, s.build, now)
                await actions.settle(uow, server, s, detail, now)
                op.finish(OpResult.SUCCESS, now=now)

    def _reschedule(self, op: Operation, outcome: ServerOutcome, now: datetime) -> None:
        # Waiting for ports or a volume: their workers usually finish within a few turns, so
        # look again at once a few times before falling back to the poll interval.
        waiting = detail_of(outcome).waiting and op.attempts <= _EAGER_WAITS
        immediate = outcome.kind == Kind.PROGRESS and (outcome.immediate or waiting)
        delay = 0.0 if immediate else self.backoff(op.attempts if outcome.kind == Kind.RETRY else 0)
        op.reschedule(now + timedelta(seconds=delay), outcome.message)


def _failed(step: str, message: str, server: ProviderServer | None = None) -> ServerOutcome:
    return Outcome(Kind.FAILED, message=message, detail=ServerStep(server=server, build_step=step))


def _step_of(phase: str) -> str:
    return _STEP_OF_PHASE.get(phase, SPAWNING)


async def _build(provider: Provider, s: OperationFacts) -> ServerOutcome:
    """One step of a create operation on the cloud (no transaction open)."""
    if s.phase == COMPENSATE:
        return await _compensate(provider, s)
    try:
        return await _advance(provider, s)
    except ProviderUnavailable:
        raise
    except ProviderError as exc:
        if isinstance(exc, ProviderNotFound) and s.phase in ("spawn", "poll"):
            return _failed(SPAWNING, f"the server disappeared from the cloud: {exc.message}")
        return _failed(_step_of(s.phase), exc.message)


async def _advance(provider: Provider, s: OperationFacts) -> ServerOutcome:
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
        outcome = await _poll(provider, s)
        detail = detail_of(outcome)
        detail.phase = detail.phase or "poll"
        detail.provider_id = s.provider_id
        outcome.detail = detail
        return outcome
    if s.phase == "poll":
        return await _poll(provider, s)
    if s.phase == "attach":
        return await _attach_next(provider, s)
    return _failed(_step_of(s.phase), f"unknown build phase {s.phase}")


def _wait_for_resources(facts: BuildFacts) -> ServerOutcome | None:
    """A step while the ports or the boot volume are not ready in the cloud, else None."""
    broken = [p for p in facts.ports if p.status == "ERROR"]
    if broken:
        port = broken[0]
        return _failed(NETWORKING, f"port {port.id} failed: {port.error_message or 'ERROR'}")
    if any(p.provider_id is None for p in facts.ports):
        return Outcome(
            Kind.PROGRESS, detail=ServerStep(task_state=TaskState.NETWORKING, waiting=True)
        )
    boot = facts.boot
    if boot is not None:
        if boot.status == "error" or boot.status not in (*_READY, "creating"):
            reason = boot.error_message or boot.status
            return _failed(BLOCK_DEVICE_MAPPING, f"boot volume {boot.id} failed: {reason}")
        if boot.provider_id is None or boot.status == "creating":
            mapping = ServerStep(task_state=TaskState.BLOCK_DEVICE_MAPPING, waiting=True)
            return Outcome(Kind.PROGRESS, detail=mapping)
    return None


async def _poll(provider: Provider, s: OperationFacts) -> ServerOutcome:
    assert s.provider_id is not None
    current = await provider.compute.get_server(s.provider_id)
    if current.vm_state == VmState.ERROR:
        fault = current.fault
        return _failed(SPAWNING, fault.message if fault else "the cloud failed the build", current)
    if current.task_state is not None or current.vm_state != VmState.ACTIVE:
        return Outcome(Kind.PROGRESS, detail=ServerStep(server=current))
    if any(v.status in PENDING_ATTACH for v in s.build.data):
        attach = ServerStep(server=current, phase="attach", enter_attach=True)
        return Outcome(Kind.PROGRESS, detail=attach)
    return Outcome(Kind.DONE, detail=ServerStep(server=current))


async def _attach_next(provider: Provider, s: OperationFacts) -> ServerOutcome:
    """Attach one data volume (a crashed attempt's attachment is adopted, not repeated)."""
    assert s.provider_id is not None
    pending = [v for v in s.build.data if v.status in PENDING_ATTACH]
    if not pending:
        current = await provider.compute.get_server(s.provider_id)
        return Outcome(Kind.DONE, detail=ServerStep(server=current))
    volume = pending[0]
    if volume.provider_id is None:
        return _failed(VOLUME_ATTACH, f"volume {volume.id} is not in the cloud")
    device = await attach_in_cloud(provider, s.provider_id, volume.provider_id)
    return Outcome(Kind.PROGRESS, detail=ServerStep(attached=(volume.id, device)), immediate=True)


async def _compensate(provider: Provider, s: OperationFacts) -> ServerOutcome:
    """Undo the build in the cloud: delete every server carrying our tag and wait until it is
    gone; then the rows are released (COMPENSATED)."""
    found = await provider.compute.servers(tags=(tag_for(s.server_id),))
    for server in found:
        await detach_in_cloud(provider, server.id, s.build)
        await provider.compute.delete_server(server.id)
    if found and await provider.compute.servers(tags=(tag_for(s.server_id),)):
        return Outcome(
            Kind.PROGRESS,
            message="undoing the build: waiting for the server to go",
            detail=ServerStep(waiting=True),
        )
    step = str(s.params.get("failed_step") or SPAWNING)
    cause = str(s.params.get("cause") or "unknown failure")
    return Outcome(Kind.COMPENSATED, message=f"Build failed at step {step}: {cause}")


async def _record_progress(
    session: AsyncSession, server_id: str, facts: BuildFacts, detail: ServerStep, now: datetime
) -> None:
    """Volume rows moved by a build step: attaching on entering the attach phase, in-use
    with the device the cloud chose after each attachment."""
    if detail.enter_attach:
        for volume in facts.data:
            if volume.status == "reserved":
                await block_storage_service.mark_attaching(session, volume.id)
    if detail.attached is not None:
        volume_id, device = detail.attached
        await block_storage_service.mark_attached(session, volume_id, server_id, device, now)


async def _record_active(
    session: AsyncSession, server_id: str, facts: BuildFacts, now: datetime
) -> None:
    """The boot volume is in use as /dev/vda once the server is ACTIVE."""
    boot = facts.boot
    if boot is not None and boot.status != "in-use":
        await block_storage_service.mark_attached(
            session, boot.id, server_id, boot.device or "/dev/vda", now
        )


async def repair_orphans(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, *, limit: int = 100
) -> int:
    """Servers showing a task that no operation drives any more: end the task honestly (the
    reconciler's repair job for servers)."""
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

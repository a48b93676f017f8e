"""The one handler of server operations: it loads a step's facts, hands the cloud's part to
the sub-feature that owns the action (the build: servers/, lifecycle actions and delete:
actions/, attachments: volume_attachments/), and records the outcome on the rows.

It sits above the sub-features (it composes them); they share the worker-side types of
servers/handlers.py, so no sub-feature imports another's worker side but that one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.block_storage import public as block_storage_service
from stackgate.catalog import public as catalog_service
from stackgate.compute.actions import handlers as actions
from stackgate.compute.models import Server
from stackgate.compute.repository import ComputeUoW
from stackgate.compute.servers import handlers as servers
from stackgate.compute.servers.handlers import (
    COMPENSATE,
    BuildFacts,
    OperationFacts,
    PortFact,
    ServerOutcome,
    ServerStep,
    VolumeFact,
    detail_of,
    fail,
    release_resources,
    show_progress,
    step_of,
)
from stackgate.compute.volume_attachments import handlers as volume_attachments
from stackgate.core.clock import Clock
from stackgate.core.operations import Operation, OpResult
from stackgate.network import public as network
from stackgate.semantics.nova import Action, VmState
from stackgate.worker.handler import Kind, OperationHandler, Outcome

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
            return await servers.drive(self._provider, facts)
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
            await actions.record(
                uow, op, server, facts, outcome, now, self._reschedule, self._operations
            )
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
                    "failed_step": detail.build_step or step_of(s.phase),
                    "cause": outcome.message or "unknown failure",
                }
                op.message = outcome.message
                op.reschedule(now)
            case Kind.COMPENSATED:
                await release_resources(
                    uow, server.id, build_failed=True, operations=self._operations, now=now
                )
                fail(server, now, 500, outcome.message or "Build failed")
                server.ip_address = None
                op.finish(OpResult.ERROR, outcome.message, now=now)
            case Kind.DONE:
                await _record_active(uow.session, server.id, s.build, now)
                await actions.settle(uow, server, s, detail, now, self._operations)
                op.finish(OpResult.SUCCESS, now=now)

    def _reschedule(self, op: Operation, outcome: ServerOutcome, now: datetime) -> None:
        # Waiting for ports or a volume: their workers usually finish within a few turns, so
        # look again at once a few times before falling back to the poll interval.
        waiting = detail_of(outcome).waiting and op.attempts <= _EAGER_WAITS
        immediate = outcome.kind == Kind.PROGRESS and (outcome.immediate or waiting)
        delay = 0.0 if immediate else self.backoff(op.attempts if outcome.kind == Kind.RETRY else 0)
        op.reschedule(now + timedelta(seconds=delay), outcome.message)


async def _record_progress(
    session: AsyncSession, server_id: str, facts: BuildFacts, detail: ServerStep, now: datetime
) -> None:
    """Volume rows moved by a build step: attaching on entering the attach phase, in-use
    with the device the cloud chose after each attachment."""
    if detail.enter_attach:
        for volume in facts.data:
            if volume.status == "reserved":
                await block_storage_service.mark_attaching(session, volume.id, now=now)
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


async def load_build_facts(session: AsyncSession, server_id: str) -> BuildFacts:
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

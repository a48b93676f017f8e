"""The worker side of a server: the facts a step copies out of the database before the cloud
is called, the one typed record of what a step learned (`ServerStep`), the row changes and
cloud calls the sub-features' steps share, and the create's cloud steps.

The create is Nova's _build_and_run_instance, one step per worker turn: wait for the ports
(task_state networking) and the boot volume (block_device_mapping), create the server on them
(spawning), attach the data volumes, ACTIVE. When a step fails, the earlier ones are undone
(compensation): the cloud server is deleted and waited out, the ports and the boot volume are
deleted through their own operations, the data volumes are released, and the server ends in
ERROR with a fault naming the failed step. Phases recorded on op.phase: submit (waiting for
ports and volume) -> spawn -> poll -> attach -> done, or -> compensate from any of them. Every
cloud call here is repeatable. compute/handlers.py records the outcomes.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stackgate.block_storage import public as block_storage_service
from stackgate.compute.models import Server
from stackgate.core.operations import Operation, OperationFactory
from stackgate.core.tags import tag_for
from stackgate.core.uow import UnitOfWork
from stackgate.network import public as network
from stackgate.providers.base import (
    FlavorSpec,
    ImageSpec,
    Provider,
    ProviderError,
    ProviderImage,
    ProviderNotFound,
    ProviderServer,
    ProviderUnavailable,
    ServerSpec,
)
from stackgate.semantics.nova import Action, TaskState, VmState
from stackgate.worker.handler import Kind, Outcome

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
PENDING_ATTACH = ("reserved", "attaching")
_IN_CLOUD = ("attaching", "in-use", "detaching")


@dataclass(slots=True)
class ServerStep:
    """What a server step learned besides its kind, applied to the rows when it is recorded.
    Every field's default means "nothing to change"."""

    server: ProviderServer | None = None  # the cloud's server as the step last saw it
    image: ProviderImage | None = None  # a snapshot's image in the cloud
    provider_id: str | None = None  # the cloud's id of the server, once made or found
    params: dict[str, Any] | None = None  # the operation's params, with ids the cloud gave
    phase: str | None = None  # the operation's next phase
    task_state: str | None = None  # shown while the build waits for its ports or volume
    waiting: bool = False  # waiting for another operation's worker (ports, volumes)
    build_step: str | None = None  # the build step that failed (named in the fault)
    enter_attach: bool = False  # the build starts attaching its data volumes
    attached: tuple[str, str] | None = None  # (volume id, device) the cloud just attached
    attaching: bool = False  # an attachment's volume moves reserved -> attaching
    device: str | None = None  # where an attachment's volume ended up


ServerOutcome = Outcome[ServerStep]


def detail_of(outcome: ServerOutcome) -> ServerStep:
    """The outcome's detail; the skeleton's own outcomes (busy, deadline, cloud errors) have
    none."""
    return outcome.detail if outcome.detail is not None else ServerStep()


@dataclass(frozen=True, slots=True)
class PortFact:
    id: str
    provider_id: str | None
    status: str
    error_message: str | None


@dataclass(frozen=True, slots=True)
class VolumeFact:
    id: str
    provider_id: str | None
    status: str
    is_root: bool
    device: str | None
    error_message: str | None


@dataclass(slots=True)
class BuildFacts:
    """The server's ports and volumes as our rows show them, copied out before cloud calls."""

    ports: list[PortFact] = field(default_factory=list)
    volumes: list[VolumeFact] = field(default_factory=list)

    @property
    def boot(self) -> VolumeFact | None:
        return next((v for v in self.volumes if v.is_root), None)

    @property
    def data(self) -> list[VolumeFact]:
        return [v for v in self.volumes if not v.is_root]


@dataclass(slots=True)
class OperationFacts:
    """The facts a step needs, copied out so no transaction stays open during cloud calls."""

    op_id: str
    action: str
    phase: str
    params: dict[str, Any]
    attempts: int
    deadline: datetime
    server_id: str
    provider_id: str | None
    server_name: str
    project_id: str
    flavor: FlavorSpec
    image: ImageSpec | None
    metadata: dict[str, str]
    key_name: str | None
    user_data: str | None
    # The server's ports and volumes (creates, deletes and volume actions load them).
    build: BuildFacts = field(default_factory=BuildFacts)
    # Our image ids -> the cloud's, where they differ (a snapshot's image has the id the
    # cloud gave it; seeded and registered images keep ours).
    image_refs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls, op: Operation, server: Server, image_refs: dict[str, str] | None = None
    ) -> OperationFacts:
        refs = image_refs or {}
        image = (
            None
            if server.image_id is None
            else ImageSpec(
                id=refs.get(server.image_id, server.image_id),
                name=server.image_name or server.image_id,
            )
        )
        return cls(
            op_id=op.id,
            action=op.action,
            phase=op.phase,
            params=dict(op.params),
            attempts=op.attempts,
            deadline=op.deadline_at,
            server_id=server.id,
            provider_id=server.provider_id,
            server_name=server.name,
            project_id=server.project_id,
            flavor=FlavorSpec(
                name=server.flavor_name,
                vcpus=server.vcpus,
                ram_mb=server.ram_mb,
                disk_gb=server.disk_gb,
                id=server.flavor_id,
            ),
            image=image,
            metadata=dict(server.metadata_),
            key_name=server.key_name,
            user_data=server.user_data,
            image_refs=refs,
        )

    def cloud_image(self, params: dict[str, Any]) -> ImageSpec:
        """An image named in the operation's params, with the cloud's id."""
        return ImageSpec(**{**params, "id": self.image_refs.get(params["id"], params["id"])})

    def spec(
        self, *, port_ids: tuple[str, ...] = (), boot_volume_id: str | None = None
    ) -> ServerSpec:
        if self.image is None:
            raise ProviderError("the server has no image to boot from")
        return ServerSpec(
            name=self.server_name,
            flavor=self.flavor,
            image=self.image,
            project_id=self.project_id,
            tags=(tag_for(self.server_id),),
            metadata=self.metadata,
            key_name=self.key_name,
            user_data=self.user_data,
            port_ids=port_ids,
            boot_volume_id=boot_volume_id,
        )

    def deadline_passed(self, now: datetime) -> bool:
        return now >= self.deadline


def show_progress(server: Server, action: str, current: ProviderServer) -> None:
    """Mirror the cloud's task while it works, so BUILD shows scheduling -> spawning."""
    if action == Action.DELETE or current.task_state is None:
        return
    vm_state = VmState.BUILDING if action == Action.CREATE else server.vm_state
    server.set_state(vm_state, current.task_state)
    if action == Action.CREATE:
        server.host = current.host


def fail(server: Server, when: datetime, code: int, message: str) -> None:
    server.set_state(VmState.ERROR, None)
    server.fault_code = code
    server.fault_message = message[:2000]
    server.fault_created_at = when


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


async def release_resources(
    uow: UnitOfWork,
    server_id: str,
    *,
    build_failed: bool,
    operations: OperationFactory,
    now: datetime,
) -> None:
    """The rows side of deleting a server or undoing its build: ports get their delete
    operations (floating IPs disassociated), the boot volume is deleted (on a failed build, or
    with delete_on_termination) or detached, data volumes become available again."""
    await network.release_server_ports(uow, None, server_id, operations=operations)
    session = uow.session
    volumes = (await block_storage_service.volumes_of_servers(session, [server_id])).get(
        server_id, []
    )
    for volume in volumes:
        if volume.is_root and (build_failed or volume.delete_on_termination):
            await block_storage_service.delete_volume_later(uow, volume.id, operations=operations)
        elif volume.status in PENDING_ATTACH:
            await block_storage_service.release_reservation(session, volume.id, now=now)
        else:
            await block_storage_service.mark_detached(session, volume.id, now=now)


def failed(step: str, message: str, server: ProviderServer | None = None) -> ServerOutcome:
    return Outcome(Kind.FAILED, message=message, detail=ServerStep(server=server, build_step=step))


def step_of(phase: str) -> str:
    return _STEP_OF_PHASE.get(phase, SPAWNING)


async def drive(provider: Provider, s: OperationFacts) -> ServerOutcome:
    """One step of a create operation on the cloud (no transaction open)."""
    if s.phase == COMPENSATE:
        return await _compensate(provider, s)
    try:
        return await _advance(provider, s)
    except ProviderUnavailable:
        raise
    except ProviderError as exc:
        if isinstance(exc, ProviderNotFound) and s.phase in ("spawn", "poll"):
            return failed(SPAWNING, f"the server disappeared from the cloud: {exc.message}")
        return failed(step_of(s.phase), exc.message)


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
    return failed(step_of(s.phase), f"unknown build phase {s.phase}")


def _wait_for_resources(facts: BuildFacts) -> ServerOutcome | None:
    """A step while the ports or the boot volume are not ready in the cloud, else None."""
    broken = [p for p in facts.ports if p.status == "ERROR"]
    if broken:
        port = broken[0]
        return failed(NETWORKING, f"port {port.id} failed: {port.error_message or 'ERROR'}")
    if any(p.provider_id is None for p in facts.ports):
        return Outcome(
            Kind.PROGRESS, detail=ServerStep(task_state=TaskState.NETWORKING, waiting=True)
        )
    boot = facts.boot
    if boot is not None:
        if boot.status == "error" or boot.status not in (*_READY, "creating"):
            reason = boot.error_message or boot.status
            return failed(BLOCK_DEVICE_MAPPING, f"boot volume {boot.id} failed: {reason}")
        if boot.provider_id is None or boot.status == "creating":
            mapping = ServerStep(task_state=TaskState.BLOCK_DEVICE_MAPPING, waiting=True)
            return Outcome(Kind.PROGRESS, detail=mapping)
    return None


async def _poll(provider: Provider, s: OperationFacts) -> ServerOutcome:
    assert s.provider_id is not None
    current = await provider.compute.get_server(s.provider_id)
    if current.vm_state == VmState.ERROR:
        fault = current.fault
        return failed(SPAWNING, fault.message if fault else "the cloud failed the build", current)
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
        return failed(VOLUME_ATTACH, f"volume {volume.id} is not in the cloud")
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

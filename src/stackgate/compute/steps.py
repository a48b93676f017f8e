"""The pieces of an operation step: the facts copied out of the database before the cloud is
called, what the step learned, and the row changes that record it (compute/handlers.py drives
them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stackgate.compute.models import Server
from stackgate.compute.states import Action, VmState
from stackgate.core.operations import Operation
from stackgate.core.tags import tag_for
from stackgate.providers.base import (
    FlavorSpec,
    ImageSpec,
    ProviderError,
    ProviderImage,
    ProviderServer,
    ServerSpec,
)


@dataclass(slots=True)
class Step:
    """What one step learned; applied to the rows in the write transaction."""

    # "progress" | "done" | "failed" | "retry" | "gone" | "undone" | "compensated"
    kind: str
    server: ProviderServer | None = None
    image: ProviderImage | None = None
    message: str | None = None
    fault_code: int = 500
    updates: dict[str, Any] = field(default_factory=dict)


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


def looks_done(s: OperationFacts, current: ProviderServer) -> bool:
    """On a retried submit: did the cloud already carry out this action?"""
    return current.vm_state == EXPECTED_VM_STATE.get(s.action)


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


def mark_deleted(server: Server, now: datetime) -> None:
    server.set_state(VmState.DELETED, None, 0)
    server.deleted_at = now
    server.host = None


def flavor_copy(server: Server) -> dict[str, Any]:
    return {
        "id": server.flavor_id,
        "name": server.flavor_name,
        "vcpus": server.vcpus,
        "ram_mb": server.ram_mb,
        "disk_gb": server.disk_gb,
    }


def apply_flavor(server: Server, flavor: dict[str, Any]) -> None:
    server.flavor_id = flavor.get("id")
    server.flavor_name = flavor["name"]
    server.vcpus = flavor["vcpus"]
    server.ram_mb = flavor["ram_mb"]
    server.disk_gb = flavor["disk_gb"]

"""Compute's domain errors (pure: no framework imports); Nova's state rules raise their own
(semantics.nova), turned into these by `refused`."""

from __future__ import annotations

from collections.abc import Sequence

from stackgate.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from stackgate.semantics import nova


class ServerNotFound(NotFound):
    def __init__(self, server_id: str) -> None:
        super().__init__("server", server_id)


class DeletedListForbidden(Forbidden):
    """Nova's 403 for a non-admin's status=DELETED listing: a deleted server is gone."""

    code = "deleted_servers_admin_only"
    title = "Only administrators may list deleted servers"

    def __init__(self) -> None:
        super().__init__(
            "status=DELETED: only the cloud admin may list deleted servers; a deleted "
            "server's action log stays at GET /api/v1/vms/{id}/actions"
        )


class InvalidStateTransition(Conflict):
    """Nova's 409 for an action the server's state does not allow."""

    code = "invalid_state_transition"
    title = "Invalid state transition"

    def __init__(
        self, *, action: str, status: str, task_state: str | None, allowed: Sequence[str]
    ) -> None:
        refusal = nova.InvalidStateTransition(
            action=action, status=status, task_state=task_state, allowed=allowed
        )
        super().__init__(refusal.detail, **refusal.extra)


class ServerLocked(Conflict):
    code = "server_locked"
    title = "Server is locked"

    def __init__(self, server_id: str, action: str) -> None:
        refusal = nova.ServerLocked(server_id, action)
        super().__init__(refusal.detail, **refusal.extra)


def refused(exc: nova.ActionRefused) -> Conflict:
    """The API's error for a refusal of Nova's state rules (same message, same fields)."""
    if isinstance(exc, nova.ServerLocked):
        return ServerLocked(exc.server_id, str(exc.extra["action"]))
    return InvalidStateTransition(
        action=str(exc.extra["action"]),
        status=str(exc.extra["current_status"]),
        task_state=exc.extra["task_state"],
        allowed=exc.extra["allowed_actions"],
    )


class FlavorTooSmall(InvalidInput):
    code = "flavor_too_small"
    title = "Flavor too small for the image"


class ResizeToSameFlavor(InvalidInput):
    code = "resize_same_flavor"
    title = "Resize to the same flavor"

    def __init__(self) -> None:
        super().__init__("the server already has this flavor; choose another", field="flavor")


class VolumeNotAttached(NotFound):
    """Nova's 404 for a volume that is not attached to the server."""

    def __init__(self, server_id: str, volume_id: str) -> None:
        super().__init__("volume attachment", volume_id)
        self.detail = f"volume {volume_id} is not attached to server {server_id}"


class RootVolumeDetach(Conflict):
    code = "root_volume"
    title = "Cannot detach the root volume"

    def __init__(self, volume_id: str) -> None:
        super().__init__(
            f"volume {volume_id} is the server's root disk; it cannot be detached",
            volume_id=volume_id,
        )


class GroupAlreadyOnServer(Conflict):
    code = "security_group_exists"
    title = "Security group already on the server"

    def __init__(self, server_id: str, name: str) -> None:
        super().__init__(f"security group {name} is already on server {server_id}", name=name)


class GroupNotOnServer(NotFound):
    """Nova's 404 for a group that is not on the instance."""

    def __init__(self, server_id: str, name: str) -> None:
        super().__init__("security group", name)
        self.detail = f"security group {name} is not on server {server_id}"


class ServerHasNoPorts(Conflict):
    code = "no_ports"
    title = "Server has no ports"

    def __init__(self, server_id: str) -> None:
        super().__init__(f"server {server_id} has no ports to apply security groups to")

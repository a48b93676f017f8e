"""Compute errors (pure: no framework imports)."""

from __future__ import annotations

from collections.abc import Sequence

from stackgate.core.errors import Conflict, InvalidInput, NotFound


class ServerNotFound(NotFound):
    def __init__(self, server_id: str) -> None:
        super().__init__("server", server_id)


class InvalidStateTransition(Conflict):
    code = "invalid_state_transition"
    title = "Invalid state transition"

    def __init__(
        self, *, action: str, status: str, task_state: str | None, allowed: Sequence[str]
    ) -> None:
        busy = f" while task_state is {task_state}" if task_state else ""
        choices = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"cannot {action} a server in status {status}{busy}; allowed actions: {choices}",
            action=action,
            current_status=status,
            task_state=task_state,
            allowed_actions=list(allowed),
        )


class ServerLocked(Conflict):
    code = "server_locked"
    title = "Server is locked"

    def __init__(self, server_id: str, action: str) -> None:
        super().__init__(f"server {server_id} is locked; unlock it before {action}", action=action)


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

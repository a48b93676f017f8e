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

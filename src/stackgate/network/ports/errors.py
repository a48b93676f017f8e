"""Port errors (pure: no framework imports)."""

from __future__ import annotations

from stackgate.core.errors import InUse, NotFound


class PortNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("port", ref)


class PortBound(InUse):
    code = "port_in_use"
    title = "Port bound to a server"

    def __init__(self, port_id: str, server_id: str) -> None:
        super().__init__(
            f"port {port_id} belongs to server {server_id}; detach it by deleting the server",
            server_id=server_id,
        )

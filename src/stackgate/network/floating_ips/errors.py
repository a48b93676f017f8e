"""Floating IP errors (pure: no framework imports)."""

from __future__ import annotations

from stackgate.core.errors import Conflict, NotFound
from stackgate.network.errors import Unprocessable


class FloatingIPNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("floating IP", ref)


class NotExternal(Unprocessable):
    code = "network_not_external"
    title = "Not an external network"

    def __init__(self, ref: str) -> None:
        super().__init__(
            f"network: {ref!r} is not an external network; floating IPs come from one such "
            "as `public`",
            field="network",
        )


class ServerHasNoPort(Conflict):
    code = "server_without_port"
    title = "Server without port"

    def __init__(self, server_id: str) -> None:
        super().__init__(f"server {server_id} has no port to associate a floating IP with")


class PortNotOfServer(Unprocessable):
    code = "port_not_of_server"
    title = "Port not of the server"

    def __init__(self, port_id: str, server_id: str) -> None:
        super().__init__(
            f"port_id: port {port_id} does not belong to server {server_id}", field="port_id"
        )


class FixedIpAlreadyAssociated(Conflict):
    """Neutron's FloatingIPPortAlreadyAssociated."""

    code = "floating_ip_port_associated"
    title = "Fixed IP already has a floating IP"

    def __init__(self, fixed_ip: str, other: str) -> None:
        super().__init__(
            f"fixed IP {fixed_ip} already has floating IP {other}", floating_ip_id=other
        )

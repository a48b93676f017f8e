"""Network errors (pure: no framework imports), named for Neutron's situations."""

from __future__ import annotations

from stackgate.core.errors import (
    Category,
    Conflict,
    Forbidden,
    InUse,
    InvalidInput,
    NotFound,
    StackGateError,
)


class Unprocessable(StackGateError):
    """A well-formed request naming something that cannot work (422)."""

    code = "unprocessable"
    title = "Unprocessable request"
    category = Category.UNPROCESSABLE


class NetworkNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("network", ref)


class SubnetNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("subnet", ref)


class PortNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("port", ref)


class FloatingIPNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("floating IP", ref)


class InvalidSubnet(Unprocessable):
    """A CIDR, gateway or allocation pool that breaks Neutron's subnet rules."""

    code = "invalid_subnet"
    title = "Invalid subnet"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}", field=field)


class InvalidAddress(Unprocessable):
    """Neutron's InvalidIpForSubnet: the address is not one the subnet can hand out."""

    code = "invalid_ip_address"
    title = "Invalid IP address for the subnet"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}", field=field)


class UnknownNetworkReference(InvalidInput):
    """A body field names a network, subnet or port the caller cannot use (400)."""

    code = "unknown_reference"
    title = "Unknown reference"

    def __init__(self, field: str, ref: str, why: str = "") -> None:
        super().__init__(f"{field}: no usable {field.rstrip('s')} {ref!r}{why}", field=field)


class NotExternal(Unprocessable):
    code = "network_not_external"
    title = "Not an external network"

    def __init__(self, ref: str) -> None:
        super().__init__(
            f"network: {ref!r} is not an external network; floating IPs come from one such "
            "as `public`",
            field="network",
        )


class ExternalNetworkForPorts(InvalidInput):
    code = "external_network"
    title = "External network"

    def __init__(self, field: str, ref: str) -> None:
        super().__init__(
            f"{field}: {ref!r} is an external network; servers get addresses on it through "
            "floating IPs",
            field=field,
        )


class OverlappingSubnet(Conflict):
    code = "subnet_overlap"
    title = "Overlapping subnet"

    def __init__(self, cidr: str, other: str) -> None:
        super().__init__(
            f"cidr {cidr} overlaps subnet {other} of the same network", field="cidr", other=other
        )


class IpAddressInUse(Conflict):
    code = "ip_address_in_use"
    title = "IP address already allocated"

    def __init__(self, address: str, subnet_id: str) -> None:
        super().__init__(
            f"{address} is already allocated on subnet {subnet_id}",
            field="fixed_ips",
            ip_address=address,
        )


class IpExhausted(Conflict):
    """Neutron's IpAddressGenerationFailure / ExternalIpAddressExhausted."""

    code = "ip_exhausted"
    title = "No free IP address"

    def __init__(self, network_id: str) -> None:
        super().__init__(
            f"no free IP address is left on network {network_id}", network_id=network_id
        )


class NetworkInUse(InUse):
    code = "network_in_use"
    title = "Network in use"

    def __init__(self, network_id: str, ports: int) -> None:
        super().__init__(
            f"network {network_id} still has {ports} port(s); delete them (or their servers) first",
            ports=ports,
        )


class SubnetInUse(InUse):
    code = "subnet_in_use"
    title = "Subnet in use"

    def __init__(self, subnet_id: str, allocations: int) -> None:
        super().__init__(
            f"subnet {subnet_id} still has {allocations} allocated address(es)",
            allocations=allocations,
        )


class PortBound(InUse):
    code = "port_in_use"
    title = "Port bound to a server"

    def __init__(self, port_id: str, server_id: str) -> None:
        super().__init__(
            f"port {port_id} belongs to server {server_id}; detach it by deleting the server",
            server_id=server_id,
        )


class NotNetworkOwner(Forbidden):
    """A shared network (the seeded `public`) is visible to all, changed by its owner only."""

    code = "network_not_owned"
    title = "Network of another project"

    def __init__(self, network_id: str, what: str) -> None:
        super().__init__(
            f"network {network_id} is shared with you, not yours: only its project or the "
            f"cloud admin may {what}",
            network_id=network_id,
        )


class NoSubnet(Conflict):
    code = "network_without_subnet"
    title = "Network without subnet"

    def __init__(self, network_id: str) -> None:
        super().__init__(f"network {network_id} has no subnet to allocate an address from")


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


class NotReady(Conflict):
    code = "invalid_state"
    title = "Invalid state"

"""Network errors every sub-feature may raise (pure: no framework imports): references in a
body, and the addresses of a subnet (ports and floating IPs both take them)."""

from __future__ import annotations

from collections.abc import Iterable

from stackgate.core.errors import (
    Category,
    Conflict,
    InvalidInput,
    StackGateError,
    UnknownReference,
)


class Unprocessable(StackGateError):
    """A well-formed request naming something that cannot work (422)."""

    code = "unprocessable"
    title = "Unprocessable request"
    category = Category.UNPROCESSABLE


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


class UnknownNetworkReference(UnknownReference):
    """A body field names a network (or a server) the caller cannot use (400)."""

    def __init__(
        self,
        field: str,
        ref: str,
        names: Iterable[str] = (),
        *,
        kind: str = "network",
        listed_at: str = "/api/v1/networks",
        why: str = "",
    ) -> None:
        super().__init__(field, ref, kind=kind, candidates=names, listed_at=listed_at, why=why)


class ExternalNetworkForPorts(InvalidInput):
    code = "external_network"
    title = "External network"

    def __init__(self, field: str, ref: str) -> None:
        super().__init__(
            f"{field}: {ref!r} is an external network; servers get addresses on it through "
            "floating IPs",
            field=field,
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


class NoSubnet(Conflict):
    code = "network_without_subnet"
    title = "Network without subnet"

    def __init__(self, network_id: str) -> None:
        super().__init__(f"network {network_id} has no subnet to allocate an address from")

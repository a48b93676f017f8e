"""Network and subnet errors (pure: no framework imports), named for Neutron's situations."""

from __future__ import annotations

from stackgate.core.errors import Conflict, Forbidden, InUse, NotFound


class NetworkNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("network", ref)


class SubnetNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("subnet", ref)


class OverlappingSubnet(Conflict):
    code = "subnet_overlap"
    title = "Overlapping subnet"

    def __init__(self, cidr: str, other: str) -> None:
        super().__init__(
            f"cidr {cidr} overlaps subnet {other} of the same network", field="cidr", other=other
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

"""Network's wiring: the routers, handlers, events and tables of networks and subnets, ports,
floating IPs and security groups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from stackgate.network.events import (
    derive_floating_ip,
    derive_network,
    derive_port,
    derive_security_group,
    derive_security_group_rule,
    derive_subnet,
)
from stackgate.network.floating_ips.handlers import FloatingIPOperationHandler
from stackgate.network.models import (
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
)
from stackgate.network.networks.handlers import NetworkOperationHandler
from stackgate.network.ports.handlers import PortOperationHandler
from stackgate.network.security_groups.handlers import SecurityGroupOperationHandler
from stackgate.network.seed import PUBLIC_NETWORK_ID, PUBLIC_SUBNET_ID
from stackgate.wiring import Feature, HandlerParts
from stackgate.worker.registry import OperationHandler

if TYPE_CHECKING:
    from fastapi import APIRouter


def handlers(parts: HandlerParts) -> Mapping[str, OperationHandler]:
    # Children wait for their parents' cloud ids: poll often, they usually wait a turn or two.
    networks = parts.make(NetworkOperationHandler, poll_cap=0.2)
    # One handler drives groups and their rules (a rule waits for its group's cloud id).
    groups = parts.make(SecurityGroupOperationHandler, poll_cap=0.2)
    return {
        "network": networks,
        "subnet": networks,
        "port": parts.make(PortOperationHandler, poll_cap=0.2),
        "floating_ip": parts.make(FloatingIPOperationHandler, poll_cap=0.2),
        "security_group": groups,
        "security_group_rule": groups,
    }


def cloud_routers() -> Sequence[APIRouter]:
    from stackgate.network.floating_ips.routes import router as floating_ips
    from stackgate.network.networks.routes import router as networks
    from stackgate.network.ports.routes import router as ports
    from stackgate.network.security_groups.routes import router as security_groups

    return (networks, ports, floating_ips, security_groups)


FEATURE = Feature(
    name="network",
    cloud_routers=cloud_routers,
    handlers=handlers,
    events={
        "network": derive_network,
        "subnet": derive_subnet,
        "port": derive_port,
        "floating_ip": derive_floating_ip,
        "security_group": derive_security_group,
        "security_group_rule": derive_security_group_rule,
    },
    tables=(
        IPAllocation,
        PortSecurityGroup,
        FloatingIP,
        Port,
        SecurityGroupRule,
        SecurityGroup,
        Subnet,
        Network,
    ),
    seeded={
        Network: lambda: Network.id == PUBLIC_NETWORK_ID,
        Subnet: lambda: Subnet.id == PUBLIC_SUBNET_ID,
    },
)

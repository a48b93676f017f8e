"""What the simulated Neutron's parts share: refusals worded like neutron_lib's, DTOs, tags."""

from __future__ import annotations

from collections.abc import Sequence

from stackgate.providers.base import ProviderBadRequest, ProviderConflict, ProviderNotFound
from stackgate.providers.network import (
    FixedIP,
    ProviderFloatingIP,
    ProviderNetwork,
    ProviderPort,
    ProviderRule,
    ProviderSecurityGroup,
    ProviderSubnet,
)
from stackgate.providers.simulator.tables import (
    SimFloatingIP,
    SimNetwork,
    SimPort,
    SimRule,
    SimSecurityGroup,
    SimSubnet,
)

DOWN = "DOWN"
ACTIVE = "ACTIVE"
COMPUTE_OWNER = "compute:nova"


def not_found(kind: str, resource_id: str) -> ProviderNotFound:
    """NetworkNotFound, SubnetNotFound, PortNotFound, FloatingIPNotFound."""
    return ProviderNotFound(f"{kind} {resource_id} could not be found.", status_code=404)


def group_not_found(group_id: str) -> ProviderNotFound:
    return ProviderNotFound(f"Security group {group_id} does not exist", status_code=404)


def bad_request(message: str) -> ProviderBadRequest:
    return ProviderBadRequest(message, status_code=400)


def invalid_input(message: str) -> ProviderBadRequest:
    return ProviderBadRequest(f"Invalid input for operation: {message}", status_code=400)


def conflict(message: str) -> ProviderConflict:
    return ProviderConflict(message, status_code=409)


def has_tags(row_tags: Sequence[str], wanted: Sequence[str]) -> bool:
    return set(wanted).issubset(row_tags)


def network_dto(row: SimNetwork) -> ProviderNetwork:
    return ProviderNetwork(
        id=row.id,
        name=row.name,
        status=row.status,
        project_id=row.project_id,
        shared=row.shared,
        external=row.external,
        tags=tuple(row.tags),
    )


def subnet_dto(row: SimSubnet) -> ProviderSubnet:
    return ProviderSubnet(
        id=row.id,
        network_id=row.network_id,
        name=row.name,
        cidr=row.cidr,
        gateway_ip=row.gateway_ip,
        allocation_pools=tuple((str(a), str(b)) for a, b in row.pools),
        enable_dhcp=row.enable_dhcp,
        ip_version=row.ip_version,
        tags=tuple(row.tags),
    )


def port_dto(row: SimPort) -> ProviderPort:
    return ProviderPort(
        id=row.id,
        network_id=row.network_id,
        status=row.status,
        fixed_ips=tuple(FixedIP(subnet_id=s, ip_address=a) for s, a in row.fixed_ips),
        mac_address=row.mac_address,
        device_id=row.device_id,
        device_owner=row.device_owner,
        security_group_ids=tuple(row.security_group_ids),
        tags=tuple(row.tags),
    )


def rule_dto(row: SimRule) -> ProviderRule:
    return ProviderRule(
        id=row.id,
        security_group_id=row.security_group_id,
        direction=row.direction,
        ethertype=row.ethertype,
        protocol=row.protocol,
        port_range_min=row.port_range_min,
        port_range_max=row.port_range_max,
        remote_ip_prefix=row.remote_ip_prefix,
        remote_group_id=row.remote_group_id,
    )


def group_dto(row: SimSecurityGroup, rules: Sequence[SimRule]) -> ProviderSecurityGroup:
    return ProviderSecurityGroup(
        id=row.id,
        name=row.name,
        project_id=row.project_id,
        rules=tuple(rule_dto(r) for r in rules),
        tags=tuple(row.tags),
    )


def ip_dto(row: SimFloatingIP) -> ProviderFloatingIP:
    return ProviderFloatingIP(
        id=row.id,
        floating_ip_address=row.address,
        floating_network_id=row.network_id,
        status=row.status,
        port_id=row.port_id,
        fixed_ip_address=row.fixed_ip_address,
        tags=tuple(row.tags),
    )

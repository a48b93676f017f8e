"""The network contract (`conn.network`, Neutron v2.0) and the DTOs crossing it.

Neutron answers synchronously: what a call returns already exists. Every create takes `tags`
(Neutron's standard attribute) so a retried create finds what it made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    name: str
    project_id: str
    shared: bool = False
    external: bool = False
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProviderNetwork:
    id: str
    name: str
    status: str  # ACTIVE, BUILD, DOWN, ERROR
    project_id: str | None = None
    shared: bool = False
    external: bool = False
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SubnetSpec:
    network_id: str
    name: str
    cidr: str
    project_id: str
    gateway_ip: str | None
    allocation_pools: tuple[tuple[str, str], ...]
    enable_dhcp: bool = True
    ip_version: int = 4
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProviderSubnet:
    id: str
    network_id: str
    name: str
    cidr: str
    gateway_ip: str | None
    allocation_pools: tuple[tuple[str, str], ...]
    enable_dhcp: bool = True
    ip_version: int = 4
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FixedIP:
    subnet_id: str
    ip_address: str


@dataclass(frozen=True, slots=True)
class PortSpec:
    """A port with the fixed IPs StackGate allocated (Neutron accepts explicit addresses)."""

    network_id: str
    project_id: str
    name: str = ""
    fixed_ips: tuple[FixedIP, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    device_owner: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProviderPort:
    id: str
    network_id: str
    status: str  # DOWN until bound to a server, then ACTIVE
    fixed_ips: tuple[FixedIP, ...] = ()
    mac_address: str | None = None
    device_id: str | None = None
    device_owner: str = ""
    security_group_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SecurityGroupSpec:
    name: str
    project_id: str
    description: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule, already normalised (reference/openstack.md 4.2): `None` means any."""

    security_group_id: str
    direction: str  # ingress | egress
    ethertype: str = "IPv4"
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class ProviderRule:
    id: str
    security_group_id: str
    direction: str
    ethertype: str
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderSecurityGroup:
    id: str
    name: str
    project_id: str | None = None
    rules: tuple[ProviderRule, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FloatingIPSpec:
    floating_network_id: str
    project_id: str
    floating_ip_address: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProviderFloatingIP:
    id: str
    floating_ip_address: str
    floating_network_id: str
    status: str  # DOWN until associated, then ACTIVE
    port_id: str | None = None
    fixed_ip_address: str | None = None
    tags: tuple[str, ...] = ()


class NetworkProvider(Protocol):
    """The network proxy (`conn.network`). Deletes of missing resources are not errors;
    deletes of resources still in use raise ProviderConflict (Neutron's *InUse, 409)."""

    async def create_network(self, spec: NetworkSpec) -> ProviderNetwork: ...
    async def get_network(self, network_id: str) -> ProviderNetwork: ...
    async def find_network(self, name: str) -> ProviderNetwork | None:
        """A network by name, own or shared (`conn.network.find_network`)."""
        ...

    async def networks(self, *, tags: tuple[str, ...] = ()) -> list[ProviderNetwork]: ...
    async def delete_network(self, network_id: str) -> None: ...

    async def create_subnet(self, spec: SubnetSpec) -> ProviderSubnet: ...
    async def subnets(
        self, *, network_id: str | None = None, tags: tuple[str, ...] = ()
    ) -> list[ProviderSubnet]: ...
    async def delete_subnet(self, subnet_id: str) -> None: ...

    async def create_port(self, spec: PortSpec) -> ProviderPort: ...
    async def get_port(self, port_id: str) -> ProviderPort: ...
    async def ports(
        self, *, tags: tuple[str, ...] = (), device_id: str | None = None
    ) -> list[ProviderPort]: ...
    async def update_port(
        self, port_id: str, *, security_group_ids: tuple[str, ...]
    ) -> ProviderPort: ...
    async def delete_port(self, port_id: str) -> None:
        """Also disassociates the port's floating IPs, as Neutron does."""
        ...

    async def create_security_group(self, spec: SecurityGroupSpec) -> ProviderSecurityGroup:
        """A new group comes with Neutron's two egress rules."""
        ...

    async def find_security_group(
        self, name: str, *, project_id: str
    ) -> ProviderSecurityGroup | None:
        """A project's group by name; asking for `default` creates it on first use."""
        ...

    async def security_groups(
        self, *, tags: tuple[str, ...] = ()
    ) -> list[ProviderSecurityGroup]: ...
    async def delete_security_group(self, group_id: str) -> None: ...
    async def create_security_group_rule(self, spec: RuleSpec) -> ProviderRule:
        """An identical rule -> ProviderConflict (SecurityGroupRuleExists)."""
        ...

    async def delete_security_group_rule(self, rule_id: str) -> None: ...

    async def create_ip(self, spec: FloatingIPSpec) -> ProviderFloatingIP: ...
    async def get_ip(self, floating_ip_id: str) -> ProviderFloatingIP: ...
    async def ips(self, *, tags: tuple[str, ...] = ()) -> list[ProviderFloatingIP]: ...
    async def update_ip(
        self, floating_ip_id: str, *, port_id: str | None, fixed_ip_address: str | None = None
    ) -> ProviderFloatingIP:
        """Associate (port_id) or disassociate (None)."""
        ...

    async def delete_ip(self, floating_ip_id: str) -> None: ...

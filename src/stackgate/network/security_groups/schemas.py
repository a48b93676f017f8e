"""Security group request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from stackgate.core.pagination import PageMeta
from stackgate.core.schemas import Description, Input, Integer, Name, Output

if TYPE_CHECKING:
    from stackgate.network.models import SecurityGroup, SecurityGroupRule

Prefix = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Protocol = Annotated[
    str | Integer | None,
    Field(
        description="tcp, udp, icmp, ipv6-icmp, another IANA name, a number 0-255, or "
        "null/'any' for every protocol."
    ),
]


class GroupCreate(Input):
    name: Name
    description: Description | None = None


class GroupUpdate(Input):
    name: Name | None = None
    description: Description | None = None


class RuleCreate(Input):
    direction: Literal["ingress", "egress"]
    ethertype: Literal["IPv4", "IPv6"] = "IPv4"
    protocol: Protocol = None
    port_range_min: Integer | None = Field(
        None, description="First port (tcp/udp/sctp) or the ICMP type."
    )
    port_range_max: Integer | None = Field(
        None, description="Last port (tcp/udp/sctp) or the ICMP code."
    )
    remote_ip_prefix: Prefix | None = Field(
        None, description="A CIDR or an address (normalised to CIDR, host bits masked)."
    )
    remote_group_id: Annotated[str, StringConstraints(min_length=1, max_length=36)] | None = Field(
        None, description="A group of the same project whose members are the remote."
    )
    description: Description | None = None


class RuleRead(Output):
    id: str
    security_group_id: str
    project_id: str
    direction: str
    ethertype: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_group_id: str | None
    description: str | None
    status: str = Field(description="BUILD until the cloud has the rule, then ACTIVE.")
    created_at: datetime

    @classmethod
    def of(cls, rule: SecurityGroupRule) -> RuleRead:
        return cls(
            id=rule.id,
            security_group_id=rule.security_group_id,
            project_id=rule.project_id,
            direction=rule.direction,
            ethertype=rule.ethertype,
            protocol=rule.protocol,
            port_range_min=rule.port_range_min,
            port_range_max=rule.port_range_max,
            remote_ip_prefix=rule.remote_ip_prefix,
            remote_group_id=rule.remote_group_id,
            description=rule.description,
            status="ACTIVE" if rule.provider_id else "BUILD",
            created_at=rule.created_at,
        )


class RuleList(Output):
    items: list[RuleRead]


class GroupRead(Output):
    id: str
    project_id: str
    name: str
    description: str | None
    default: bool = Field(description="The project's default group (made on first use).")
    status: str = Field(description="BUILD until the cloud has the group, then ACTIVE.")
    rules: list[RuleRead]
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, group: SecurityGroup, rules: list[SecurityGroupRule]) -> GroupRead:
        return cls(
            id=group.id,
            project_id=group.project_id,
            name=group.name,
            description=group.description,
            default=group.default_for is not None,
            status="ACTIVE" if group.provider_id else "BUILD",
            rules=[RuleRead.of(r) for r in rules],
            created_at=group.created_at,
            updated_at=group.updated_at,
            version=group.version,
        )


class GroupList(PageMeta):
    items: list[GroupRead]

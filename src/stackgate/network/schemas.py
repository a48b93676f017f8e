"""Network request and response bodies: networks, subnets, ports, floating IPs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from stackgate.core.pagination import PageMeta
from stackgate.core.schemas import Description, Flag, Input, Name, Output, Ref, Text

Address = Annotated[Text, StringConstraints(min_length=1, max_length=64)]
Ident = Annotated[Text, StringConstraints(min_length=1, max_length=36)]


def _at_least_one(model: Input, fields: tuple[str, ...]) -> None:
    if not model.model_fields_set.intersection(fields):
        raise ValueError(f"give at least one of {', '.join(fields)}")


# networks


class NetworkCreate(Input):
    name: Name
    description: Description | None = None
    shared: Flag = Field(False, description="Visible to every project (cloud admin only).")
    external: Flag = Field(
        False, description="router:external, a floating-IP pool (cloud admin only)."
    )
    admin_state_up: Flag = True


class NetworkUpdate(Input):
    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["name"]}, {"required": ["description"]}]}
    )

    name: Name | None = None
    description: Description | None = None

    @model_validator(mode="after")
    def _something(self) -> NetworkUpdate:
        _at_least_one(self, ("name", "description"))
        return self


class NetworkRead(Output):
    id: str
    project_id: str | None
    name: str
    description: str | None
    shared: bool
    external: bool
    admin_state_up: bool
    mtu: int
    status: str
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class NetworkList(PageMeta):
    items: list[NetworkRead]


# subnets


class Pool(Input):
    start: Address
    end: Address


class PoolRead(Output):
    start: str
    end: str


class SubnetCreate(Input):
    network_id: Ident
    cidr: Annotated[Address, Field(examples=["192.168.10.0/24"])]
    name: Name | None = None
    description: Description | None = None
    gateway_ip: Address | None = Field(
        None, description="Default: the first address; null for no gateway."
    )
    allocation_pool: Pool | None = Field(
        None, description="Default: the CIDR without network, broadcast and gateway."
    )
    enable_dhcp: Flag = True


class SubnetUpdate(Input):
    name: Name


class SubnetRead(Output):
    id: str
    network_id: str
    project_id: str | None
    name: str
    description: str | None
    ip_version: int
    cidr: str
    gateway_ip: str | None
    allocation_pools: list[PoolRead]
    enable_dhcp: bool
    status: str
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    version: int

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return data
        row = {name: getattr(data, name) for name in cls.model_fields if name != "allocation_pools"}
        row["allocation_pools"] = [{"start": data.pool_start, "end": data.pool_end}]
        return row


class SubnetList(PageMeta):
    items: list[SubnetRead]


# ports


class FixedIPRequest(Input):
    """A subnet, an address, both, or neither (any free address of the network)."""

    subnet_id: Ident | None = None
    ip_address: Address | None = None


class PortCreate(Input):
    network_id: Ident
    name: Annotated[Text, StringConstraints(max_length=255)] = ""
    description: Description | None = None
    fixed_ips: list[FixedIPRequest] | None = Field(
        None, max_length=8, description="Default: one address from the first IPv4 subnet."
    )
    security_groups: list[Ref] | None = Field(
        None, max_length=16, description="Names or ids; default: the project's `default`."
    )


class PortUpdate(Input):
    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["name"]}, {"required": ["security_groups"]}]}
    )

    name: Annotated[Text, StringConstraints(max_length=255)] | None = None
    security_groups: list[Ref] | None = Field(None, max_length=16)

    @model_validator(mode="after")
    def _something(self) -> PortUpdate:
        _at_least_one(self, ("name", "security_groups"))
        return self


class FixedIPRead(Output):
    subnet_id: str
    ip_address: str


class PortRead(Output):
    id: str
    project_id: str
    network_id: str
    name: str
    description: str | None
    mac_address: str
    fixed_ips: list[FixedIPRead]
    device_id: str | None
    device_owner: str
    admin_state_up: bool
    status: str
    security_groups: list[str] = Field(description="Security group ids.")
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    version: int

    @model_validator(mode="before")
    @classmethod
    def _from_details(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return data
        port = data.port
        row = {
            name: getattr(port, name)
            for name in cls.model_fields
            if name not in ("fixed_ips", "security_groups")
        }
        row["fixed_ips"] = [
            {"subnet_id": a.subnet_id, "ip_address": a.ip_address} for a in data.fixed_ips
        ]
        row["security_groups"] = list(data.security_group_ids)
        return row


class PortList(PageMeta):
    items: list[PortRead]


# floating IPs


class FloatingIPCreate(Input):
    network: Ref | None = Field(None, description="External network id or name (`public`).")
    description: Description | None = None


class FloatingIPAssociate(Input):
    vm_id: Ident
    port_id: Ident | None = Field(None, description="Default: the server's first port.")


class FloatingIPRead(Output):
    id: str
    project_id: str
    floating_ip_address: str
    floating_network_id: str
    port_id: str | None
    fixed_ip_address: str | None
    server_id: str | None
    status: str
    description: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class FloatingIPList(PageMeta):
    items: list[FloatingIPRead]

"""Network and subnet request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, model_validator

from stackgate.core.pagination import PageMeta
from stackgate.core.schemas import Description, Flag, Input, Name, Output
from stackgate.network.schemas import Address, Ident, at_least_one

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
        at_least_one(self, ("name", "description"))
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

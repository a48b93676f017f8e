"""Port request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from stackgate.core.pagination import PageMeta
from stackgate.core.schemas import Description, Input, Output, Ref, Text
from stackgate.network.schemas import Address, Ident, at_least_one

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
        at_least_one(self, ("name", "security_groups"))
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

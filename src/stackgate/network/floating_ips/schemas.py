"""Floating IP request and response bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from stackgate.core.pagination import PageMeta
from stackgate.core.schemas import Description, Input, Output, Ref
from stackgate.network.schemas import Ident

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

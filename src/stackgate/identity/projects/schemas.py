"""Project, member and quota request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from stackgate.core.pagination import PageMeta
from stackgate.core.schemas import Description, Flag, Input, Name, Output
from stackgate.identity.quotas import DEFAULT_QUOTAS

TenantRole = Literal["reader", "member", "manager", "admin"]


class ProjectCreate(Input):
    name: Name
    description: Description | None = None
    enabled: Flag = True


class ProjectUpdate(Input):
    name: Name | None = None
    description: Description | None = None
    enabled: Flag | None = None


class ProjectRead(Output):
    id: str
    domain_id: str
    name: str
    description: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime
    version: int


class ProjectList(PageMeta):
    items: list[ProjectRead]


class MemberGrant(Input):
    user_id: Name
    role: TenantRole


class MemberUpdate(Input):
    role: TenantRole


class MemberRead(Output):
    user_id: str
    user_name: str
    project_id: str
    role: str


class MemberList(Output):
    items: list[MemberRead]


class QuotaEntry(Output):
    limit: int = Field(description="-1 means unlimited.")
    in_use: int


class QuotaRead(Output):
    project_id: str
    quotas: dict[str, QuotaEntry]


class QuotaUpdate(Input):
    quotas: Annotated[
        dict[
            Annotated[str, StringConstraints(max_length=64)],
            Annotated[int, Field(ge=-1, le=2**31 - 1)],
        ],
        # Documented; the service names an unknown one in its 400.
        Field(json_schema_extra={"propertyNames": {"enum": list(DEFAULT_QUOTAS)}}),
    ]

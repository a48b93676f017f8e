"""Audit trail bodies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from stackgate.core.pagination import PageMeta
from stackgate.core.schemas import Output


class AuditRead(Output):
    id: str
    at: datetime
    request_id: str | None
    user_id: str | None
    user_name: str | None
    project_id: str | None
    method: str
    path: str
    action: str
    resource_type: str | None
    resource_id: str | None
    status_code: int
    outcome: str
    client_address: str | None


class AuditList(PageMeta):
    items: list[AuditRead]


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """What GET /audit narrows the trail to."""

    project_id: str | None = None
    user_id: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

"""Audit trail bodies."""

from __future__ import annotations

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

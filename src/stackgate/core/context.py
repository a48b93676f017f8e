"""Who is asking: resolved once per request from the bearer token, passed to every service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

DEFAULT_PROJECT_ID = "00000000-0000-0000-0000-000000000001"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RequestContext:
    project_id: str
    user_id: str | None = None
    roles: frozenset[str] = field(default_factory=lambda: frozenset({"member"}))
    request_id: str | None = None
    user_name: str | None = None
    project_name: str | None = None
    expires_at: datetime | None = None
    credential_id: str | None = None
    valid_after: datetime = _EPOCH

    @property
    def is_admin(self) -> bool:
        """Cloud-wide admin (OpenStack's context_is_admin: role admin)."""
        return "admin" in self.roles

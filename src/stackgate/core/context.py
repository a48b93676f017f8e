"""Who is asking: resolved once per request, passed to every service call."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_PROJECT_ID = "00000000-0000-0000-0000-000000000001"


@dataclass(frozen=True, slots=True)
class RequestContext:
    project_id: str
    user_id: str | None = None
    roles: frozenset[str] = field(default_factory=lambda: frozenset({"member"}))
    request_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

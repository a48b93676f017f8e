"""Who is calling the billing API: the control plane's bearer token, checked by the control
plane itself (GET {STACKGATE_API_URL}/api/v1/auth/me), the answer cached briefly per token."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any

import httpx

from stackgate.core.context import RequestContext
from stackgate.core.errors import ServiceUnavailable, Unauthorized

MAX_CACHED = 10_000


class RemoteAuthenticator:
    """The same `authenticate(token, request_id=)` contract as the in-process AuthService."""

    def __init__(
        self, api_url: str, *, cache_seconds: float = 2.0, client: httpx.AsyncClient | None = None
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.cache_seconds = cache_seconds
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))
        self._cache: dict[str, tuple[float, RequestContext]] = {}

    async def close(self) -> None:
        await self._client.aclose()

    async def authenticate(self, token: str, *, request_id: str | None) -> RequestContext:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        headers = {"Authorization": f"Bearer {token}"}
        if request_id:
            headers["X-Request-ID"] = request_id
        try:
            response = await self._client.get(f"{self.api_url}/api/v1/auth/me", headers=headers)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"cannot check the token: the API is unreachable ({exc})"
            ) from exc
        if response.status_code in (401, 403):
            raise Unauthorized("the bearer token is not valid (expired, revoked or unknown)")
        if response.status_code != 200:
            raise ServiceUnavailable(
                f"cannot check the token: the API answered {response.status_code}"
            )
        ctx = _context(response.json(), request_id)
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[key] = (now + self.cache_seconds, ctx)
        return ctx


def _context(me: dict[str, Any], request_id: str | None) -> RequestContext:
    expires = me.get("expires_at")
    return RequestContext(
        project_id=str(me["project"]["id"]),
        user_id=str(me["user"]["id"]),
        roles=frozenset(str(role) for role in me.get("roles", [])),
        request_id=request_id,
        user_name=me["user"].get("name"),
        project_name=me["project"].get("name"),
        expires_at=datetime.fromisoformat(expires.replace("Z", "+00:00")) if expires else None,
    )

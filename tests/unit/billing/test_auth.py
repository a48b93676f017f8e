"""Billing checks bearer tokens with the control plane (GET /api/v1/auth/me), cached briefly."""

from __future__ import annotations

import httpx
import pytest

from stackgate.billing.auth import RemoteAuthenticator
from stackgate.core.errors import ServiceUnavailable, Unauthorized

ME = {
    "user": {"id": "u1", "name": "demo"},
    "project": {"id": "p1", "name": "demo"},
    "roles": ["reader"],
    "expires_at": "2030-01-01T00:00:00Z",
    "is_admin": False,
}


def authenticator(handler: httpx.MockTransport, cache_seconds: float = 60) -> RemoteAuthenticator:
    client = httpx.AsyncClient(transport=handler)
    return RemoteAuthenticator("http://api:8080/", cache_seconds=cache_seconds, client=client)


async def test_a_valid_token_becomes_a_context_and_is_cached() -> None:
    calls: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=ME)

    auth = authenticator(httpx.MockTransport(handle))
    ctx = await auth.authenticate("tok", request_id="req-1")
    again = await auth.authenticate("tok", request_id="req-2")
    assert (ctx.project_id, ctx.user_id, ctx.roles, ctx.is_admin) == (
        "p1",
        "u1",
        frozenset({"reader"}),
        False,
    )
    assert again.project_id == "p1"
    assert len(calls) == 1
    assert str(calls[0].url) == "http://api:8080/api/v1/auth/me"
    assert calls[0].headers["Authorization"] == "Bearer tok"
    assert calls[0].headers["X-Request-ID"] == "req-1"


async def test_the_cache_expires() -> None:
    calls = 0

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, json=ME)

    auth = authenticator(httpx.MockTransport(handle), cache_seconds=0)
    await auth.authenticate("tok", request_id=None)
    await auth.authenticate("tok", request_id=None)
    assert calls == 2


@pytest.mark.parametrize(
    "status,error", [(401, Unauthorized), (403, Unauthorized), (500, ServiceUnavailable)]
)
async def test_refusals_and_failures(status: int, error: type[Exception]) -> None:
    auth = authenticator(httpx.MockTransport(lambda request: httpx.Response(status)))
    with pytest.raises(error):
        await auth.authenticate("tok", request_id=None)


async def test_an_unreachable_api_is_503_not_401() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(ServiceUnavailable):
        await authenticator(httpx.MockTransport(handle)).authenticate("tok", request_id=None)

"""Which requests need a bearer token, and every token refused: none, garbage or another scheme,
tampered, signed with another key or none, expired (also while in use), and well signed for a
user who does not exist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.api.identity.personas import PASSWORD, Cast, FixedClock, Tenant, reencode
from tests.api.identity.unauthorized import assert_unauthorized
from tests.builders import assert_problem
from tests.conftest import DEMO_PASSWORD, api_client, login

from stackgate.bootstrap import Container, bootstrap
from stackgate.config import Settings
from stackgate.identity.security import TokenCodec
from stackgate.providers.simulator import SimulatorProvider

PROTECTED = [
    ("GET", "/api/v1/vms"),
    ("POST", "/api/v1/vms"),
    ("GET", "/api/v1/auth/me"),
    ("GET", "/api/v1/projects"),
    ("DELETE", "/api/v1/users/00000000-0000-0000-0000-000000000000"),
]


def flip_signature(token: str) -> str:
    """The token with one signature character changed (a full 6 bits, not padding)."""
    header, payload, signature = token.split(".")
    swapped = "B" if signature[5] == "A" else "A"
    return f"{header}.{payload}.{signature[:5]}{swapped}{signature[6:]}"


async def with_token(
    http: httpx.AsyncClient, token: str, method: str = "GET", path: str = "/api/v1/vms"
) -> httpx.Response:
    body = {"name": "x", "flavor": "m1.tiny", "image": "cirros-0.6"} if method == "POST" else None
    headers = {"Authorization": f"Bearer {token}"}
    return await http.request(method, path, json=body, headers=headers)


class TestWhatNeedsNoToken:
    @pytest.mark.parametrize("path", ["/health", "/health/ready", "/openapi.json", "/docs"])
    async def test_health_and_docs_are_open(
        self, anonymous_client: httpx.AsyncClient, path: str
    ) -> None:
        response = await anonymous_client.get(path)
        assert response.status_code == 200, response.text


class TestRejectedTokens:
    @pytest.mark.parametrize(("method", "path"), PROTECTED)
    async def test_no_token(
        self, anonymous_client: httpx.AsyncClient, method: str, path: str
    ) -> None:
        response = await anonymous_client.request(method, path)
        body = assert_unauthorized(response, invalid_token=False)
        assert body["code"] == "unauthorized"

    @pytest.mark.parametrize(
        "authorization",
        ["Bearer", "Bearer not-a-jwt", "Bearer a.b.c", "Basic ZGVtbzpkZW1v", "bearer"],
    )
    async def test_malformed_or_other_scheme(
        self, anonymous_client: httpx.AsyncClient, authorization: str
    ) -> None:
        response = await anonymous_client.get(
            "/api/v1/vms", headers={"Authorization": authorization}
        )
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_tampered_tokens(
        self,
        anonymous_client: httpx.AsyncClient,
        container: Container,
        cast: Cast,
        tenant_a: Tenant,
        tenant_b: Tenant,
    ) -> None:
        token = await login(container, str(tenant_a.reader.name), PASSWORD, "alpha")
        assert (await with_token(anonymous_client, token)).status_code == 200
        forgeries = [
            reencode(token, roles=["admin"]),
            reencode(token, project_id=tenant_b.project_id),
            reencode(token, sub=tenant_a.manager.user_id),
            reencode(token, exp=int((datetime.now(UTC) + timedelta(days=30)).timestamp())),
            flip_signature(token),
        ]
        for forged in forgeries:
            for method, path in PROTECTED:
                response = await with_token(anonymous_client, forged, method, path)
                assert_unauthorized(response, invalid_token=True)

    async def test_signed_with_another_key_or_no_key(
        self,
        anonymous_client: httpx.AsyncClient,
        container: Container,
        cast: Cast,
        tenant_a: Tenant,
    ) -> None:
        claims = container.codec.decode(
            await login(container, str(tenant_a.member.name), PASSWORD, "alpha")
        )
        foreign = TokenCodec(
            "another-deployment-key" * 3,
            ttl=timedelta(hours=1),
            clock=FixedClock(datetime.now(UTC)),
        )
        token, _ = foreign.issue(
            user_id=claims.user_id,
            user_name=claims.user_name,
            project_id=claims.project_id,
            project_name=claims.project_name,
            roles=("admin",),
            method="password",
        )
        payload = jwt.decode(token, options={"verify_signature": False})
        unsigned = jwt.encode(payload, key=None, algorithm="none")
        hs512 = jwt.encode(payload, str(container.codec.secret) + "x" * 16, algorithm="HS512")
        for bad in (token, unsigned, hs512):
            for method, path in PROTECTED:
                response = await with_token(anonymous_client, bad, method, path)
                assert_unauthorized(response, invalid_token=True)

    async def test_expired_token(
        self,
        anonymous_client: httpx.AsyncClient,
        container: Container,
        cast: Cast,
        tenant_a: Tenant,
    ) -> None:
        member = tenant_a.member
        past = FixedClock(datetime.now(UTC) - timedelta(hours=2))
        codec = TokenCodec(container.codec.secret, ttl=timedelta(seconds=60), clock=past)
        expired, claims = codec.issue(
            user_id=str(member.user_id),
            user_name=str(member.name),
            project_id=tenant_a.project_id,
            project_name="alpha",
            roles=("member",),
            method="password",
        )
        assert claims.expires_at < datetime.now(UTC)
        for method, path in PROTECTED:
            response = await with_token(anonymous_client, expired, method, path)
            body = assert_unauthorized(response, invalid_token=True)
            assert body["reason"] == "invalid_token"
        # The same codec one minute ago would have been accepted: it is the expiry that counts.
        fresh = TokenCodec(
            container.codec.secret,
            ttl=timedelta(seconds=60),
            clock=FixedClock(datetime.now(UTC)),
        )
        valid, _ = fresh.issue(
            user_id=str(member.user_id),
            user_name=str(member.name),
            project_id=tenant_a.project_id,
            project_name="alpha",
            roles=("member",),
            method="password",
        )
        assert (await with_token(anonymous_client, valid)).status_code == 200

    async def test_a_token_in_use_expires_on_time(
        self,
        container: Container,
        settings: Settings,
        engine: AsyncEngine,
        provider: SimulatorProvider,
    ) -> None:
        """A one-minute token used again and again (its checked signature remembered) is
        refused once its minute is over."""
        clock = FixedClock(datetime.now(UTC))
        short = bootstrap(
            settings.model_copy(update={"token_ttl_seconds": 60}),
            engine=engine,
            provider=provider,
            clock=clock,
        )
        await short.prepare_identity()
        token = await login(short, "demo", DEMO_PASSWORD, "demo")
        async with api_client(short, token) as http:
            for _ in range(3):
                assert (await http.get("/api/v1/vms")).status_code == 200
            clock.value += timedelta(seconds=59)
            assert (await http.get("/api/v1/vms")).status_code == 200
            clock.value += timedelta(seconds=2)
            for _ in range(2):
                body = assert_unauthorized(await http.get("/api/v1/vms"), invalid_token=True)
                assert body["reason"] == "invalid_token"

    async def test_a_well_signed_token_for_nobody(
        self, anonymous_client: httpx.AsyncClient, container: Container, cast: Cast
    ) -> None:
        token, _ = container.codec.issue(
            user_id="00000000-0000-0000-0000-00000000dead",
            user_name="ghost",
            project_id="00000000-0000-0000-0000-000000000001",
            project_name="demo",
            roles=("admin",),
            method="password",
        )
        response = await with_token(anonymous_client, token)
        body = assert_unauthorized(response, invalid_token=True)
        assert body["reason"] == "revoked_token"

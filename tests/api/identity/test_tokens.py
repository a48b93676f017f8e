"""Bearer tokens: issuing (JSON and the OAuth2 form), who they name, and every way a token stops
being accepted: none, garbage, tampered, foreign key, expired, and revocation by identity
changes (disabled user, new password, removed role, disabled project, deleted user)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.api.identity.personas import PASSWORD, Cast, FixedClock, Persona, Tenant, reencode
from tests.builders import assert_problem
from tests.conftest import DEMO_PASSWORD, api_client, login

from stackgate.bootstrap import Container, bootstrap
from stackgate.config import Settings
from stackgate.identity.errors import InvalidCredentials
from stackgate.identity.security import TokenCodec
from stackgate.providers.simulator import SimulatorProvider

PROTECTED = [
    ("GET", "/api/v1/vms"),
    ("POST", "/api/v1/vms"),
    ("GET", "/api/v1/auth/me"),
    ("GET", "/api/v1/projects"),
    ("DELETE", "/api/v1/users/00000000-0000-0000-0000-000000000000"),
]


def assert_unauthorized(response: httpx.Response, *, invalid_token: bool) -> dict[str, object]:
    """401 problem+json with a Bearer challenge (error="invalid_token" for a bad token)."""
    body = assert_problem(response, 401)
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith('Bearer realm="stackgate"'), challenge
    assert ('error="invalid_token"' in challenge) is invalid_token, challenge
    return body


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


class TestIssuing:
    async def test_password_login_returns_a_signed_project_scoped_token(
        self, anonymous_client: httpx.AsyncClient, container: Container
    ) -> None:
        response = await anonymous_client.post(
            "/api/v1/auth/tokens",
            json={"username": "demo", "password": DEMO_PASSWORD, "project": "demo"},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["user"]["name"] == "demo"
        assert body["project"]["name"] == "demo"
        assert body["roles"] == ["member"]
        claims = container.codec.decode(body["access_token"])
        assert claims.user_id == body["user"]["id"]
        assert claims.project_id == body["project"]["id"]
        assert claims.roles == ("member",)
        expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
        ttl = timedelta(seconds=container.settings.token_ttl_seconds)
        assert abs(expires - (datetime.now(UTC) + ttl)) < timedelta(seconds=5)
        # Really signed with our key (HS256), and with nothing else.
        jwt.decode(
            body["access_token"], container.codec.secret, algorithms=["HS256"], issuer="stackgate"
        )
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(body["access_token"], "another-key" * 4, algorithms=["HS256"])

    async def test_the_token_names_its_holder(self, cast: Cast, tenant_a: Tenant) -> None:
        me = await tenant_a.manager.http.get("/api/v1/auth/me")
        assert me.status_code == 200, me.text
        body = me.json()
        assert body["user"] == {"id": tenant_a.manager.user_id, "name": tenant_a.manager.name}
        assert body["project"] == {"id": tenant_a.project_id, "name": "alpha"}
        assert body["roles"] == ["manager"]
        assert body["is_admin"] is False
        admin = await cast.admin.get("/api/v1/auth/me")
        assert admin.json()["is_admin"] is True

    async def test_project_by_id_and_the_only_project_by_default(
        self, anonymous_client: httpx.AsyncClient, tenant_a: Tenant
    ) -> None:
        reader = tenant_a.reader
        for project in (tenant_a.project_id, None):
            body = {"username": reader.name, "password": PASSWORD, "project": project}
            response = await anonymous_client.post("/api/v1/auth/tokens", json=body)
            assert response.status_code == 201, response.text
            assert response.json()["project"]["id"] == tenant_a.project_id

    async def test_a_user_of_two_projects_must_name_one(
        self, anonymous_client: httpx.AsyncClient, cast: Cast, tenant_a: Tenant, tenant_b: Tenant
    ) -> None:
        member = tenant_a.member
        await cast.grant(tenant_b.project_id, str(member.user_id), "reader")
        body = {"username": member.name, "password": PASSWORD}
        response = await anonymous_client.post("/api/v1/auth/tokens", json=body)
        assert_problem(response, 401, "invalid_credentials")
        response = await anonymous_client.post(
            "/api/v1/auth/tokens", json={**body, "project": "bravo"}
        )
        assert response.status_code == 201, response.text
        assert response.json()["roles"] == ["reader"]

    @pytest.mark.parametrize(
        "body",
        [
            {"username": "demo", "password": "wrong-password", "project": "demo"},
            {"username": "nobody", "password": DEMO_PASSWORD, "project": "demo"},
            {"username": "demo", "password": DEMO_PASSWORD, "project": "admin"},
            {"username": "demo", "password": DEMO_PASSWORD, "project": "no-such-project"},
            {"username": "demo", "password": DEMO_PASSWORD, "project": "demo", "domain": "Other"},
        ],
        ids=["wrong-password", "unknown-user", "not-a-member", "unknown-project", "domain"],
    )
    async def test_bad_credentials_are_one_indistinct_401(
        self, anonymous_client: httpx.AsyncClient, body: dict[str, str]
    ) -> None:
        response = await anonymous_client.post("/api/v1/auth/tokens", json=body)
        problem = assert_unauthorized(response, invalid_token=False)
        assert problem["code"] == "invalid_credentials"
        assert problem["detail"] == "the username, password or project is not valid"

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"username": "demo"},
            {
                "username": "demo",
                "password": "x",
                "application_credential_id": "a",
                "application_credential_secret": "b",
            },
            {"application_credential_id": "a"},
        ],
    )
    async def test_neither_or_both_methods_is_refused(
        self, anonymous_client: httpx.AsyncClient, body: dict[str, str]
    ) -> None:
        response = await anonymous_client.post("/api/v1/auth/tokens", json=body)
        assert response.status_code == 422, response.text

    async def test_oauth2_password_form_for_the_docs_authorize_button(
        self, anonymous_client: httpx.AsyncClient, tenant_a: Tenant
    ) -> None:
        form = {"username": str(tenant_a.member.name), "password": PASSWORD, "scope": "alpha"}
        response = await anonymous_client.post("/api/v1/auth/token", data=form)
        assert response.status_code == 200, response.text
        token = response.json()
        assert token["token_type"] == "bearer"
        assert token["project"]["id"] == tenant_a.project_id
        me = await anonymous_client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"}
        )
        assert me.status_code == 200, me.text
        assert me.json()["user"]["id"] == tenant_a.member.user_id
        wrong = await anonymous_client.post(
            "/api/v1/auth/token", data={**form, "password": "not-it"}
        )
        assert_problem(wrong, 401, "invalid_credentials")
        # The /docs Authorize button posts to exactly this form.
        schema = (await anonymous_client.get("/openapi.json")).json()
        schemes = schema["components"]["securitySchemes"]
        flows = [s["flows"]["password"]["tokenUrl"] for s in schemes.values() if "flows" in s]
        assert flows == ["/api/v1/auth/token"]


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


class TestRevocation:
    async def test_disabling_a_user_voids_their_tokens_for_good(
        self, container: Container, cast: Cast, tenant_a: Tenant
    ) -> None:
        member = tenant_a.member
        assert (await member.http.get("/api/v1/vms")).status_code == 200
        response = await cast.admin.patch(
            f"/api/v1/users/{member.user_id}", json={"enabled": False}
        )
        assert response.status_code == 200, response.text
        assert response.json()["enabled"] is False
        assert_unauthorized(await member.http.get("/api/v1/vms"), invalid_token=True)
        with pytest.raises(InvalidCredentials):
            await login(container, str(member.name), PASSWORD, "alpha")
        # Enabled again: a new login works, the old token stays void.
        await cast.admin.patch(f"/api/v1/users/{member.user_id}", json={"enabled": True})
        assert_unauthorized(await member.http.get("/api/v1/vms"), invalid_token=True)
        await member.relogin(container)
        assert (await member.http.get("/api/v1/vms")).status_code == 200

    async def test_changing_ones_password_voids_old_tokens_and_the_new_one_works(
        self, anonymous_client: httpx.AsyncClient, container: Container, tenant_a: Tenant
    ) -> None:
        member = tenant_a.member
        second = await login(container, str(member.name), PASSWORD, "alpha")
        response = await member.http.post(
            f"/api/v1/users/{member.user_id}/password",
            json={"original_password": PASSWORD, "password": "brand-new-password-2"},
        )
        assert response.status_code == 204, response.text
        for token in (member.http.headers["Authorization"], f"Bearer {second}"):
            old = await anonymous_client.get("/api/v1/auth/me", headers={"Authorization": token})
            body = assert_unauthorized(old, invalid_token=True)
            assert body["reason"] == "revoked_token"
        stale = {"username": member.name, "password": PASSWORD, "project": "alpha"}
        refused = await anonymous_client.post("/api/v1/auth/tokens", json=stale)
        assert_problem(refused, 401, "invalid_credentials")
        fresh = await anonymous_client.post(
            "/api/v1/auth/tokens", json={**stale, "password": "brand-new-password-2"}
        )
        assert fresh.status_code == 201, fresh.text
        me = await anonymous_client.get(
            "/api/v1/auth/me",
            headers={"Authorization": f"Bearer {fresh.json()['access_token']}"},
        )
        assert me.status_code == 200, me.text
        assert me.json()["user"]["id"] == member.user_id

    async def test_wrong_original_password_changes_nothing(
        self, container: Container, tenant_a: Tenant
    ) -> None:
        reader = tenant_a.reader
        response = await reader.http.post(
            f"/api/v1/users/{reader.user_id}/password",
            json={"original_password": "not-my-password", "password": "brand-new-password-2"},
        )
        assert_problem(response, 401, "invalid_credentials")
        assert (await reader.http.get("/api/v1/auth/me")).status_code == 200
        await login(container, str(reader.name), PASSWORD, "alpha")

    async def test_one_cannot_change_someone_elses_password(self, tenant_a: Tenant) -> None:
        manager, member = tenant_a.manager, tenant_a.member
        response = await manager.http.post(
            f"/api/v1/users/{member.user_id}/password",
            json={"original_password": PASSWORD, "password": "hijacked-password-1"},
        )
        assert_problem(response, 404, "not_found")
        assert (await member.http.get("/api/v1/auth/me")).status_code == 200

    async def test_an_admin_password_reset_voids_tokens(
        self, container: Container, cast: Cast, tenant_a: Tenant
    ) -> None:
        reader = tenant_a.reader
        response = await cast.admin.patch(
            f"/api/v1/users/{reader.user_id}", json={"password": "reset-by-admin-1"}
        )
        assert response.status_code == 200, response.text
        assert_unauthorized(await reader.http.get("/api/v1/auth/me"), invalid_token=True)
        reader.password = "reset-by-admin-1"
        await reader.relogin(container)
        assert (await reader.http.get("/api/v1/auth/me")).status_code == 200

    async def test_removing_a_role_voids_the_token_for_that_project_only(
        self, container: Container, cast: Cast, tenant_a: Tenant, tenant_b: Tenant
    ) -> None:
        member = tenant_a.member
        await cast.grant(tenant_b.project_id, str(member.user_id), "member")
        in_b = await cast.client(await login(container, str(member.name), PASSWORD, "bravo"))
        removed = await tenant_a.manager.http.delete(
            f"/api/v1/projects/{tenant_a.project_id}/members/{member.user_id}"
        )
        assert removed.status_code == 204, removed.text
        assert_unauthorized(await member.http.get("/api/v1/vms"), invalid_token=True)
        assert (await in_b.get("/api/v1/vms")).status_code == 200
        with pytest.raises(InvalidCredentials):
            await login(container, str(member.name), PASSWORD, "alpha")

    async def test_a_voided_token_stays_void_when_the_role_is_granted_again(
        self, container: Container, cast: Cast, tenant_a: Tenant
    ) -> None:
        member = tenant_a.member
        path = f"/api/v1/projects/{tenant_a.project_id}/members/{member.user_id}"
        assert (await tenant_a.manager.http.delete(path)).status_code == 204
        assert_unauthorized(await member.http.get("/api/v1/vms"), invalid_token=True)
        await cast.grant(tenant_a.project_id, str(member.user_id), "manager")
        # The old token was revoked with the role: it does not come back with a new one.
        body = assert_unauthorized(await member.http.get("/api/v1/vms"), invalid_token=True)
        assert body["reason"] == "revoked_token"
        await member.relogin(container)
        me = await member.http.get("/api/v1/auth/me")
        assert me.status_code == 200 and me.json()["roles"] == ["manager"]

    async def test_a_role_change_takes_effect_on_the_existing_token(
        self, cast: Cast, tenant_a: Tenant
    ) -> None:
        member = tenant_a.member
        body = {"name": "vm", "flavor": "m1.tiny", "image": "cirros-0.6"}
        assert (await member.http.post("/api/v1/vms", json=body)).status_code == 202
        demoted = await tenant_a.manager.http.put(
            f"/api/v1/projects/{tenant_a.project_id}/members/{member.user_id}",
            json={"role": "reader"},
        )
        assert demoted.status_code == 200, demoted.text
        assert_problem(await member.http.post("/api/v1/vms", json=body), 403, "forbidden")
        assert (await member.http.get("/api/v1/auth/me")).json()["roles"] == ["reader"]

    async def test_disabling_a_project_voids_its_tokens(
        self, container: Container, cast: Cast, tenant_a: Tenant
    ) -> None:
        response = await cast.admin.patch(
            f"/api/v1/projects/{tenant_a.project_id}", json={"enabled": False}
        )
        assert response.status_code == 200, response.text
        assert response.json()["enabled"] is False
        for persona in tenant_a.personas:
            assert_unauthorized(await persona.http.get("/api/v1/vms"), invalid_token=True)
        with pytest.raises(InvalidCredentials):
            await login(container, str(tenant_a.member.name), PASSWORD, "alpha")
        await cast.admin.patch(f"/api/v1/projects/{tenant_a.project_id}", json={"enabled": True})
        await tenant_a.member.relogin(container)
        assert (await tenant_a.member.http.get("/api/v1/vms")).status_code == 200

    async def test_deleting_a_user_voids_their_tokens(self, cast: Cast, tenant_a: Tenant) -> None:
        reader: Persona = tenant_a.reader
        response = await cast.admin.delete(f"/api/v1/users/{reader.user_id}")
        assert response.status_code == 204, response.text
        assert_unauthorized(await reader.http.get("/api/v1/auth/me"), invalid_token=True)

"""Issuing bearer tokens: password login (JSON, and the OAuth2 form behind the /docs Authorize
button), the project a token is scoped to, who it names, and the one indistinct 401 every bad
login gets."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from tests.api.identity.personas import PASSWORD, Cast, Tenant
from tests.api.identity.unauthorized import assert_unauthorized
from tests.builders import assert_problem
from tests.conftest import DEMO_PASSWORD

from stackgate.bootstrap import Container


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
        ("form", "headers"),
        [
            ({"scope": "project:bravo"}, {}),
            ({"scope": "bravo"}, {}),
            ({"client_id": "bravo"}, {}),
            # Swagger UI's default: its client_id field as the user of a Basic header.
            ({}, {"Authorization": "Basic " + base64.b64encode(b"bravo:").decode()}),
        ],
        ids=["project-scope", "bare-scope", "client-id", "basic-client-id"],
    )
    async def test_the_docs_form_names_one_of_two_projects(
        self,
        anonymous_client: httpx.AsyncClient,
        cast: Cast,
        tenant_a: Tenant,
        tenant_b: Tenant,
        form: dict[str, str],
        headers: dict[str, str],
    ) -> None:
        member = tenant_a.member
        await cast.grant(tenant_b.project_id, str(member.user_id), "reader")
        login = {"username": str(member.name), "password": PASSWORD, **form}
        response = await anonymous_client.post("/api/v1/auth/token", data=login, headers=headers)
        assert response.status_code == 200, response.text
        token = response.json()
        assert token["project"] == {"id": tenant_b.project_id, "name": "bravo"}
        assert token["roles"] == ["reader"]
        # Naming none answers as the JSON login does; alpha is still reachable by name.
        bare = {"username": str(member.name), "password": PASSWORD}
        response = await anonymous_client.post("/api/v1/auth/token", data=bare)
        assert_problem(response, 401, "invalid_credentials")
        response = await anonymous_client.post(
            "/api/v1/auth/token", data={**bare, "scope": "openid project:alpha"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["project"]["id"] == tenant_a.project_id

    @pytest.mark.parametrize(
        ("form", "headers", "field"),
        [
            ({"scope": "project:alpha project:bravo"}, {}, "scope"),
            ({"scope": "project:"}, {}, "scope"),
            ({"scope": "alpha bravo"}, {}, None),  # no project named: the only one, or 401
            ({}, {"Authorization": "Basic not*base64"}, "Authorization"),
        ],
        ids=["two-projects", "empty-project", "two-bare-words", "bad-basic"],
    )
    async def test_a_form_naming_no_single_project_is_refused(
        self,
        anonymous_client: httpx.AsyncClient,
        cast: Cast,
        tenant_a: Tenant,
        tenant_b: Tenant,
        form: dict[str, str],
        headers: dict[str, str],
        field: str | None,
    ) -> None:
        member = tenant_a.member
        await cast.grant(tenant_b.project_id, str(member.user_id), "reader")
        login = {"username": str(member.name), "password": PASSWORD, **form}
        response = await anonymous_client.post("/api/v1/auth/token", data=login, headers=headers)
        if field is None:
            assert_problem(response, 401, "invalid_credentials")
            return
        problem = assert_problem(response, 400, "invalid_input")
        assert field in problem["detail"], problem

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
        (scheme,) = schemes.values()
        assert "client_id" in scheme["description"]

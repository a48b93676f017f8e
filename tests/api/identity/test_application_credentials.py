"""Application credentials: API keys scoped to the token's project; the secret is shown once
and kept only hashed, never listed; revocable; optionally expiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from tests.api.identity.personas import Cast, Persona, Tenant
from tests.builders import assert_problem

from stackgate.bootstrap import Container
from stackgate.identity.models import ApplicationCredential

VM = {"name": "robot-vm", "flavor": "m1.tiny", "image": "cirros-0.6"}


async def make(persona: Persona, **fields: Any) -> dict[str, Any]:
    response = await persona.http.post(
        "/api/v1/application-credentials", json={"name": "ci", **fields}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def token_for(http: httpx.AsyncClient, credential: dict[str, Any]) -> httpx.Response:
    return await http.post(
        "/api/v1/auth/tokens",
        json={
            "application_credential_id": credential["id"],
            "application_credential_secret": credential["secret"],
        },
    )


class TestApplicationCredentials:
    async def test_secret_shown_once_stored_hashed_never_listed(
        self, container: Container, tenant_a: Tenant
    ) -> None:
        member = tenant_a.member
        credential = await make(member, description="the CI robot")
        secret = credential["secret"]
        assert len(secret) >= 32
        assert credential["project_id"] == tenant_a.project_id
        assert credential["user_id"] == member.user_id
        assert credential["expires_at"] is None
        listed = await member.http.get("/api/v1/application-credentials")
        assert [c["id"] for c in listed.json()["items"]] == [credential["id"]]
        shown = await member.http.get(f"/api/v1/application-credentials/{credential['id']}")
        for body in (listed.text, shown.text):
            assert secret not in body and "secret" not in body
        async with container.sessionmaker() as session:
            row = (
                await session.scalars(
                    select(ApplicationCredential).where(
                        ApplicationCredential.id == credential["id"]
                    )
                )
            ).one()
        assert row.secret_hash.startswith("$argon2")
        assert secret not in row.secret_hash
        assert container.hasher.verify(secret, row.secret_hash)
        taken = await member.http.post("/api/v1/application-credentials", json={"name": "ci"})
        assert_problem(taken, 409, "name_taken")

    async def test_login_with_a_credential_acts_as_its_owner_in_its_project(
        self, anonymous_client: httpx.AsyncClient, cast: Cast, tenant_a: Tenant
    ) -> None:
        for persona, may_create in ((tenant_a.reader, False), (tenant_a.member, True)):
            credential = await make(persona)
            issued = await token_for(anonymous_client, credential)
            assert issued.status_code == 201, issued.text
            body = issued.json()
            assert body["user"]["id"] == persona.user_id
            assert body["project"]["id"] == tenant_a.project_id
            assert body["roles"] == [persona.role]
            robot = await cast.client(body["access_token"])
            assert (await robot.get("/api/v1/auth/me")).json()["user"]["id"] == persona.user_id
            created = await robot.post("/api/v1/vms", json=VM)
            assert created.status_code == (202 if may_create else 403), created.text
        wrong = await anonymous_client.post(
            "/api/v1/auth/tokens",
            json={
                "application_credential_id": credential["id"],
                "application_credential_secret": "not-the-secret",
            },
        )
        assert_problem(wrong, 401, "invalid_credentials")

    async def test_revoking_voids_the_credential_and_its_tokens(
        self, anonymous_client: httpx.AsyncClient, cast: Cast, tenant_a: Tenant
    ) -> None:
        member = tenant_a.member
        credential = await make(member)
        robot = await cast.client(
            (await token_for(anonymous_client, credential)).json()["access_token"]
        )
        assert (await robot.get("/api/v1/vms")).status_code == 200
        path = f"/api/v1/application-credentials/{credential['id']}"
        assert (await member.http.delete(path)).status_code == 204
        assert_problem(await robot.get("/api/v1/vms"), 401)
        assert_problem(await token_for(anonymous_client, credential), 401, "invalid_credentials")
        assert_problem(await member.http.get(path), 404, "not_found")
        assert_problem(await member.http.delete(path), 404, "not_found")
        assert (await member.http.get("/api/v1/application-credentials")).json()["items"] == []

    async def test_expiry(
        self, anonymous_client: httpx.AsyncClient, cast: Cast, tenant_a: Tenant
    ) -> None:
        soon = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
        credential = await make(tenant_a.member, name="short-lived", expires_at=soon.isoformat())
        issued = await token_for(anonymous_client, credential)
        assert issued.status_code == 201, issued.text
        expires = datetime.fromisoformat(issued.json()["expires_at"].replace("Z", "+00:00"))
        assert expires <= soon  # the token never outlives its credential
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        expired = await make(tenant_a.member, name="stale", expires_at=past)
        assert_problem(await token_for(anonymous_client, expired), 401, "invalid_credentials")

    async def test_a_credential_dies_with_its_owners_role(
        self, anonymous_client: httpx.AsyncClient, cast: Cast, tenant_a: Tenant
    ) -> None:
        member = tenant_a.member
        credential = await make(member)
        robot = await cast.client(
            (await token_for(anonymous_client, credential)).json()["access_token"]
        )
        removed = await tenant_a.manager.http.delete(
            f"/api/v1/projects/{tenant_a.project_id}/members/{member.user_id}"
        )
        assert removed.status_code == 204
        assert_problem(await robot.get("/api/v1/vms"), 401)
        assert_problem(await token_for(anonymous_client, credential), 401, "invalid_credentials")

    async def test_a_credential_token_cannot_mint_credentials(
        self, anonymous_client: httpx.AsyncClient, cast: Cast, tenant_a: Tenant
    ) -> None:
        credential = await make(tenant_a.member)
        robot = await cast.client(
            (await token_for(anonymous_client, credential)).json()["access_token"]
        )
        refused = await robot.post("/api/v1/application-credentials", json={"name": "child"})
        assert_problem(refused, 403, "forbidden")
        listed = await tenant_a.member.http.get("/api/v1/application-credentials")
        assert [c["id"] for c in listed.json()["items"]] == [credential["id"]]

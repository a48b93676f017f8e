"""Tokens revoked by identity changes: a disabled user, a new password (one's own or reset by the
admin), a removed role (for that project only, and for good), a disabled project and a deleted
user; a changed role applies to the token at once."""

from __future__ import annotations

import httpx
import pytest
from tests.api.identity.personas import PASSWORD, Cast, Persona, Tenant
from tests.api.identity.unauthorized import assert_unauthorized
from tests.builders import assert_problem
from tests.conftest import login

from stackgate.bootstrap import Container
from stackgate.identity.errors import InvalidCredentials


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

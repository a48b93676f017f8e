"""Users: the cloud admin creates, lists, shows, updates, disables and deletes them; everyone
sees themselves and changes their own password."""

from __future__ import annotations

import httpx
from tests.api.identity.personas import PASSWORD, Cast, Tenant
from tests.builders import assert_problem
from tests.conftest import login

from stackgate.bootstrap import Container

USER_FIELDS = {"id", "domain_id", "name", "email", "enabled", "created_at", "updated_at", "version"}


class TestAdministration:
    async def test_create_list_get_update_delete(self, container: Container, cast: Cast) -> None:
        admin = cast.admin
        created = await admin.post(
            "/api/v1/users",
            json={"name": "carol", "password": "carol-password-1", "email": "carol@example.org"},
        )
        assert created.status_code == 201, created.text
        user = created.json()
        assert set(user) == USER_FIELDS  # never a password or its hash
        assert created.headers["location"] == f"/api/v1/users/{user['id']}"
        assert (user["name"], user["email"], user["enabled"]) == (
            "carol",
            "carol@example.org",
            True,
        )
        assert_problem(
            await admin.post("/api/v1/users", json={"name": "carol", "password": "whatever-1"}),
            409,
            "name_taken",
        )
        listed = await admin.get("/api/v1/users", params={"per_page": "100"})
        assert {"admin", "demo", "carol"} <= {u["name"] for u in listed.json()["items"]}
        assert all(set(u) == USER_FIELDS for u in listed.json()["items"])
        assert (await admin.get(f"/api/v1/users/{user['id']}")).json() == user
        updated = await admin.patch(
            f"/api/v1/users/{user['id']}", json={"name": "caroline", "email": None}
        )
        assert updated.status_code == 200, updated.text
        assert (updated.json()["name"], updated.json()["email"]) == ("caroline", None)
        assert (await admin.delete(f"/api/v1/users/{user['id']}")).status_code == 204
        assert_problem(await admin.get(f"/api/v1/users/{user['id']}"), 404, "not_found")
        assert_problem(await admin.delete(f"/api/v1/users/{user['id']}"), 404, "not_found")

    async def test_disable_blocks_login_and_enable_restores_it(
        self, anonymous_client: httpx.AsyncClient, cast: Cast, tenant_a: Tenant
    ) -> None:
        reader = tenant_a.reader
        body = {"username": reader.name, "password": PASSWORD, "project": "alpha"}
        disabled = await cast.admin.patch(
            f"/api/v1/users/{reader.user_id}", json={"enabled": False}
        )
        assert disabled.json()["enabled"] is False
        refused = await anonymous_client.post("/api/v1/auth/tokens", json=body)
        assert_problem(refused, 401, "invalid_credentials")
        await cast.admin.patch(f"/api/v1/users/{reader.user_id}", json={"enabled": True})
        assert (await anonymous_client.post("/api/v1/auth/tokens", json=body)).status_code == 201

    async def test_passwords_are_at_least_eight_characters(self, cast: Cast) -> None:
        short = await cast.admin.post("/api/v1/users", json={"name": "dave", "password": "short"})
        assert short.status_code == 422, short.text

    async def test_the_last_cloud_admin_stays(self, cast: Cast) -> None:
        me = (await cast.admin.get("/api/v1/auth/me")).json()["user"]
        for response in (
            await cast.admin.patch(f"/api/v1/users/{me['id']}", json={"enabled": False}),
            await cast.admin.delete(f"/api/v1/users/{me['id']}"),
        ):
            assert_problem(response, 409, "last_admin")
        assert (await cast.admin.get("/api/v1/users")).status_code == 200
        # With a second admin, the first may go.
        second = await cast.cloud_admin()
        assert (await second.http.delete(f"/api/v1/users/{me['id']}")).status_code == 204
        assert_problem(await cast.admin.get("/api/v1/users"), 401)


class TestSelfService:
    async def test_everyone_sees_themselves_but_nobody_else(self, tenant_a: Tenant) -> None:
        for persona in tenant_a.personas:
            own = await persona.http.get(f"/api/v1/users/{persona.user_id}")
            assert own.status_code == 200, own.text
            assert own.json()["name"] == persona.name
            other = tenant_a.reader if persona is not tenant_a.reader else tenant_a.member
            refused = await persona.http.get(f"/api/v1/users/{other.user_id}")
            assert_problem(refused, 403, "forbidden")
            assert_problem(await persona.http.get("/api/v1/users"), 403, "forbidden")
            assert_problem(
                await persona.http.patch(
                    f"/api/v1/users/{persona.user_id}", json={"enabled": True}
                ),
                403,
                "forbidden",
            )

    async def test_change_own_password(
        self, container: Container, cast: Cast, tenant_a: Tenant
    ) -> None:
        reader = tenant_a.reader
        path = f"/api/v1/users/{reader.user_id}/password"
        weak = await reader.http.post(path, json={"original_password": PASSWORD, "password": "x"})
        assert weak.status_code == 422
        changed = await reader.http.post(
            path, json={"original_password": PASSWORD, "password": "reader-password-2"}
        )
        assert changed.status_code == 204, changed.text
        assert_problem(await reader.http.get("/api/v1/auth/me"), 401)
        token = await login(container, str(reader.name), "reader-password-2", "alpha")
        http = await cast.client(token)
        assert (await http.get("/api/v1/auth/me")).json()["user"]["id"] == reader.user_id

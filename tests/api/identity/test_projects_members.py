"""Projects (the cloud admin's) and their members (managers grant at most manager)."""

from __future__ import annotations

import httpx
from tests.api.identity.personas import PASSWORD, Cast, Tenant
from tests.builders import assert_problem
from tests.conftest import login

from stackgate.bootstrap import Container

VM = {"name": "tenant-vm", "flavor": "m1.tiny", "image": "cirros-0.6"}


async def member_roles(http: httpx.AsyncClient, project_id: str) -> dict[str, str]:
    response = await http.get(f"/api/v1/projects/{project_id}/members")
    assert response.status_code == 200, response.text
    return {m["user_id"]: m["role"] for m in response.json()["items"]}


class TestProjects:
    async def test_create_get_update_and_list(self, cast: Cast) -> None:
        admin = cast.admin
        created = await admin.post(
            "/api/v1/projects", json={"name": "gamma", "description": "third"}
        )
        assert created.status_code == 201, created.text
        project = created.json()
        assert created.headers["location"] == f"/api/v1/projects/{project['id']}"
        assert (project["name"], project["enabled"], project["domain_id"]) == (
            "gamma",
            True,
            "default",
        )
        assert (await admin.get(f"/api/v1/projects/{project['id']}")).json() == project
        taken = await admin.post("/api/v1/projects", json={"name": "gamma"})
        assert_problem(taken, 409, "name_taken")
        updated = await admin.patch(
            f"/api/v1/projects/{project['id']}", json={"name": "gamma-2", "description": None}
        )
        assert updated.status_code == 200, updated.text
        assert (updated.json()["name"], updated.json()["description"]) == ("gamma-2", None)
        assert updated.json()["version"] > project["version"]
        listed = await admin.get("/api/v1/projects", params={"per_page": "100"})
        assert {"admin", "demo", "gamma-2"} <= {p["name"] for p in listed.json()["items"]}

    async def test_a_user_lists_the_projects_they_belong_to(
        self, cast: Cast, tenant_a: Tenant, tenant_b: Tenant
    ) -> None:
        reader = tenant_a.reader
        response = await reader.http.get("/api/v1/projects")
        assert [p["id"] for p in response.json()["items"]] == [tenant_a.project_id]
        await cast.grant(tenant_b.project_id, str(reader.user_id), "member")
        response = await reader.http.get("/api/v1/projects")
        assert {p["id"] for p in response.json()["items"]} == {
            tenant_a.project_id,
            tenant_b.project_id,
        }
        assert response.json()["total"] == 2

    async def test_disable_and_enable(
        self, container: Container, cast: Cast, tenant_a: Tenant
    ) -> None:
        path = f"/api/v1/projects/{tenant_a.project_id}"
        response = await cast.admin.patch(path, json={"enabled": False})
        assert response.status_code == 200 and response.json()["enabled"] is False
        assert_problem(await tenant_a.member.http.post("/api/v1/vms", json=VM), 401)
        response = await cast.admin.patch(path, json={"enabled": True})
        assert response.json()["enabled"] is True
        await tenant_a.member.relogin(container)
        assert (await tenant_a.member.http.post("/api/v1/vms", json=VM)).status_code == 202

    async def test_delete_only_when_empty(
        self, container: Container, cast: Cast, tenant_a: Tenant
    ) -> None:
        created = await tenant_a.member.http.post("/api/v1/vms", json=VM)
        assert created.status_code == 202
        path = f"/api/v1/projects/{tenant_a.project_id}"
        busy = assert_problem(await cast.admin.delete(path), 409, "project_not_empty")
        assert busy["in_use"]["instances"] == 1
        assert (await cast.admin.get(path)).status_code == 200
        await container.runner.drain()
        sid = created.json()["id"]
        assert (await tenant_a.member.http.delete(f"/api/v1/vms/{sid}")).status_code == 202
        await container.runner.drain()
        assert (await cast.admin.delete(path)).status_code == 204
        assert_problem(await cast.admin.get(path), 404, "not_found")
        assert_problem(await tenant_a.member.http.get("/api/v1/vms"), 401)

    async def test_the_admin_project_cannot_be_disabled_or_deleted(self, cast: Cast) -> None:
        admin_project = await cast.admin_project()
        path = f"/api/v1/projects/{admin_project['id']}"
        assert_problem(await cast.admin.patch(path, json={"enabled": False}), 409, "last_admin")
        assert_problem(await cast.admin.delete(path), 409, "last_admin")
        assert (await cast.admin.get("/api/v1/users")).status_code == 200


class TestMembers:
    async def test_manager_assigns_changes_and_removes(
        self, container: Container, cast: Cast, tenant_a: Tenant
    ) -> None:
        manager = tenant_a.manager.http
        user = await cast.user()
        path = f"/api/v1/projects/{tenant_a.project_id}/members"
        added = await manager.post(path, json={"user_id": user["id"], "role": "reader"})
        assert added.status_code == 201, added.text
        assert added.json() == {
            "user_id": user["id"],
            "user_name": user["name"],
            "project_id": tenant_a.project_id,
            "role": "reader",
        }
        assert (await member_roles(manager, tenant_a.project_id))[user["id"]] == "reader"
        token = await login(container, user["name"], PASSWORD, "alpha")
        http = await cast.client(token)
        assert_problem(await http.post("/api/v1/vms", json=VM), 403, "forbidden")
        changed = await manager.put(f"{path}/{user['id']}", json={"role": "member"})
        assert changed.status_code == 200 and changed.json()["role"] == "member"
        assert (await http.post("/api/v1/vms", json=VM)).status_code == 202
        assert (await manager.delete(f"{path}/{user['id']}")).status_code == 204
        assert user["id"] not in await member_roles(manager, tenant_a.project_id)
        assert_problem(await manager.delete(f"{path}/{user['id']}"), 404, "not_found")

    async def test_a_manager_grants_at_most_manager(self, cast: Cast, tenant_a: Tenant) -> None:
        manager = tenant_a.manager.http
        path = f"/api/v1/projects/{tenant_a.project_id}/members"
        user = await cast.user()
        granted = await manager.post(path, json={"user_id": user["id"], "role": "manager"})
        assert granted.status_code == 201, granted.text
        refused = await manager.put(f"{path}/{user['id']}", json={"role": "admin"})
        assert_problem(refused, 403, "role_not_grantable")
        other = await cast.user()
        refused = await manager.post(path, json={"user_id": other["id"], "role": "admin"})
        assert_problem(refused, 403, "role_not_grantable")
        assert other["id"] not in await member_roles(manager, tenant_a.project_id)
        assert (await member_roles(manager, tenant_a.project_id))[user["id"]] == "manager"
        # Members and readers manage nobody.
        for persona in (tenant_a.member, tenant_a.reader):
            other = await cast.user()
            refused = await persona.http.post(path, json={"user_id": other["id"], "role": "reader"})
            assert_problem(refused, 403, "forbidden")

    async def test_admin_is_granted_on_the_admin_project_only(
        self, container: Container, cast: Cast, tenant_a: Tenant
    ) -> None:
        user = await cast.user()
        refused = await cast.admin.post(
            f"/api/v1/projects/{tenant_a.project_id}/members",
            json={"user_id": user["id"], "role": "admin"},
        )
        assert_problem(refused, 400, "admin_role_is_cloud_wide")
        assert user["id"] not in await member_roles(cast.admin, tenant_a.project_id)
        admin_project = await cast.admin_project()
        await cast.grant(admin_project["id"], user["id"], "admin")
        token = await login(container, user["name"], PASSWORD, "admin")
        http = await cast.client(token)
        assert (await http.get("/api/v1/users")).status_code == 200

    async def test_granting_to_an_unknown_user(self, tenant_a: Tenant) -> None:
        response = await tenant_a.manager.http.post(
            f"/api/v1/projects/{tenant_a.project_id}/members",
            json={"user_id": "00000000-0000-0000-0000-00000000beef", "role": "reader"},
        )
        assert_problem(response, 400, "invalid_input")


class TestProjectsByName:
    """A project is referenced by id or by name wherever a path names one (Keystone's names
    are unique in a domain, so a name is never ambiguous)."""

    async def test_routes_take_the_name(self, cast: Cast, tenant_a: Tenant) -> None:
        admin = cast.admin
        shown = await admin.get("/api/v1/projects/alpha")
        assert shown.status_code == 200, shown.text
        assert shown.json()["id"] == tenant_a.project_id
        quotas = await admin.get("/api/v1/projects/alpha/quotas")
        assert quotas.status_code == 200, quotas.text
        assert quotas.json()["project_id"] == tenant_a.project_id
        changed = await admin.put("/api/v1/projects/alpha/quotas", json={"quotas": {"cores": 7}})
        assert changed.status_code == 200, changed.text
        assert changed.json()["project_id"] == tenant_a.project_id
        assert changed.json()["quotas"]["cores"]["limit"] == 7
        members = await member_roles(admin, "alpha")
        assert members == await member_roles(admin, tenant_a.project_id)
        renamed = await admin.patch("/api/v1/projects/alpha", json={"description": "by name"})
        assert renamed.json()["description"] == "by name"

    async def test_members_take_user_names(self, cast: Cast, tenant_a: Tenant) -> None:
        manager = tenant_a.manager.http
        reader = tenant_a.reader
        granted = await manager.put(
            f"/api/v1/projects/alpha/members/{reader.name}", json={"role": "member"}
        )
        assert granted.status_code == 200, granted.text
        assert (granted.json()["user_id"], granted.json()["role"]) == (reader.user_id, "member")
        unknown = await manager.post(
            "/api/v1/projects/alpha/members", json={"user_id": "nobody-here", "role": "reader"}
        )
        assert_problem(unknown, 400, "invalid_input")
        removed = await manager.delete(f"/api/v1/projects/alpha/members/{reader.name}")
        assert removed.status_code == 204, removed.text
        assert str(reader.user_id) not in await member_roles(manager, tenant_a.project_id)

    async def test_unknown_and_other_projects_names_are_404(
        self, cast: Cast, tenant_a: Tenant, tenant_b: Tenant
    ) -> None:
        assert_problem(await cast.admin.get("/api/v1/projects/no-such/quotas"), 404, "not_found")
        for path in ("/api/v1/projects/bravo", "/api/v1/projects/bravo/quotas"):
            assert_problem(await tenant_a.manager.http.get(path), 404, "not_found")
        own = await tenant_a.reader.http.get("/api/v1/projects/alpha/quotas")
        assert own.status_code == 200, own.text

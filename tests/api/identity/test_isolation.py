"""Cross-project isolation: a member (or manager) of project B gets 404 for project A's
resources on every get, act and delete, A's resource is unchanged afterwards, and B's lists
never contain A's rows. One class per resource type."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.api.identity.personas import PASSWORD, Cast, Persona, Tenant
from tests.builders import assert_problem
from tests.conftest import login

from stackgate.bootstrap import Container


async def ok(response: Any) -> dict[str, Any]:
    result = await response
    assert 200 <= result.status_code < 300, result.text
    return dict(result.json())


def assert_not_found(response: httpx.Response) -> None:
    assert_problem(response, 404, "not_found")


async def listed_ids(http: httpx.AsyncClient, path: str, **params: str) -> set[str]:
    response = await http.get(path, params={"per_page": "100", **params})
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


@pytest.fixture
async def a_server(container: Container, tenant_a: Tenant) -> dict[str, Any]:
    """An ACTIVE server of A with a finished snapshot and a few entries in its action log."""
    member = tenant_a.member
    body = {"name": "alpha-secret-vm", "flavor": "m1.tiny", "image": "cirros-0.6"}
    server = await ok(member.http.post("/api/v1/vms", json=body))
    await container.runner.drain()
    await ok(member.http.post(f"/api/v1/vms/{server['id']}/snapshots", json={"name": "a-snap"}))
    await container.runner.drain()
    return await ok(member.http.get(f"/api/v1/vms/{server['id']}"))


class TestServers:
    async def test_b_gets_404_on_every_server_route_and_a_server_is_unchanged(
        self, container: Container, tenant_a: Tenant, tenant_b: Tenant, a_server: dict[str, Any]
    ) -> None:
        a = tenant_a.member.http
        sid = a_server["id"]
        log_before = await ok(a.get(f"/api/v1/vms/{sid}/actions"))
        snaps_before = await ok(a.get(f"/api/v1/vms/{sid}/snapshots"))
        assert len(log_before["items"]) == 2 and len(snaps_before["items"]) == 1
        for b in (tenant_b.reader, tenant_b.member, tenant_b.manager):
            for path in (f"/api/v1/vms/{sid}", f"/api/v1/vms/{sid}/actions"):
                assert_not_found(await b.http.get(path))
            assert_not_found(await b.http.get(f"/api/v1/vms/{sid}/snapshots"))
        for b in (tenant_b.member, tenant_b.manager):
            assert_not_found(await b.http.patch(f"/api/v1/vms/{sid}", json={"name": "pwned"}))
            for action, body in (
                ("stop", None),
                ("reboot", {"type": "HARD"}),
                ("lock", None),
                ("resize", {"flavor": "m1.small"}),
                ("rebuild", {"image": "cirros-0.6"}),
            ):
                response = await b.http.post(f"/api/v1/vms/{sid}/actions/{action}", json=body)
                assert_not_found(response)
            snap = await b.http.post(f"/api/v1/vms/{sid}/snapshots", json={"name": "steal"})
            assert_not_found(snap)
            assert_not_found(await b.http.delete(f"/api/v1/vms/{sid}"))
        await container.runner.drain()
        after = await ok(a.get(f"/api/v1/vms/{sid}"))
        for field in ("name", "status", "locked", "version", "flavor", "updated_at", "task_state"):
            assert after[field] == a_server[field], field
        assert await ok(a.get(f"/api/v1/vms/{sid}/actions")) == log_before
        assert await ok(a.get(f"/api/v1/vms/{sid}/snapshots")) == snaps_before

    async def test_b_lists_never_show_a_servers(
        self, container: Container, tenant_a: Tenant, tenant_b: Tenant, a_server: dict[str, Any]
    ) -> None:
        body = {"name": "bravo-vm", "flavor": "m1.tiny", "image": "cirros-0.6"}
        b_server = await ok(tenant_b.member.http.post("/api/v1/vms", json=body))
        await ok(tenant_a.member.http.delete(f"/api/v1/vms/{a_server['id']}"))
        await ok(tenant_a.member.http.post("/api/v1/vms", json={**body, "name": "alpha-2"}))
        await container.runner.drain()
        for b in tenant_b.personas:
            # Deleted servers are listed to the cloud admin only (Nova): B is refused outright.
            refused = await b.http.get("/api/v1/vms", params={"status": "DELETED"})
            assert refused.status_code == 403, refused.text
            assert refused.json()["code"] == "deleted_servers_admin_only"
            for params in (
                {},
                {"status": "ACTIVE"},
                {"name": "alpha"},
                {"image": "cirros-0.6"},
                {"limit": "50"},
            ):
                response = await b.http.get("/api/v1/vms", params=params)
                assert response.status_code == 200, response.text
                owners = {item["id"] for item in response.json()["items"]}
                assert owners <= {b_server["id"]}, (params, owners)
            assert await listed_ids(b.http, "/api/v1/vms") == {b_server["id"]}
        assert b_server["id"] not in await listed_ids(tenant_a.member.http, "/api/v1/vms")

    async def test_b_cannot_boot_from_a_private_snapshot(
        self, tenant_a: Tenant, tenant_b: Tenant, a_server: dict[str, Any]
    ) -> None:
        snaps = await ok(tenant_a.member.http.get(f"/api/v1/vms/{a_server['id']}/snapshots"))
        snapshot_id = snaps["items"][0]["id"]
        for ref in (snapshot_id, "a-snap"):
            body = {"name": "b-vm", "flavor": "m1.tiny", "image": ref}
            response = await tenant_b.member.http.post("/api/v1/vms", json=body)
            assert_problem(response, 400, "unknown_reference")
        assert await listed_ids(tenant_b.member.http, "/api/v1/vms") == set()

    async def test_a_user_of_both_projects_is_confined_to_the_token_project(
        self,
        container: Container,
        cast: Cast,
        tenant_a: Tenant,
        tenant_b: Tenant,
        a_server: dict[str, Any],
    ) -> None:
        both = tenant_a.member
        await cast.grant(tenant_b.project_id, str(both.user_id), "manager")
        in_b = await cast.client(await login(container, str(both.name), PASSWORD, "bravo"))
        assert_not_found(await in_b.get(f"/api/v1/vms/{a_server['id']}"))
        assert_not_found(await in_b.delete(f"/api/v1/vms/{a_server['id']}"))
        assert_not_found(await in_b.get(f"/api/v1/projects/{tenant_a.project_id}/quotas"))
        assert await listed_ids(in_b, "/api/v1/vms") == set()
        assert (await ok(tenant_a.member.http.get(f"/api/v1/vms/{a_server['id']}")))["status"] == (
            "ACTIVE"
        )


class TestPrivateImages:
    async def test_b_gets_404_and_a_image_is_unchanged(
        self, tenant_a: Tenant, tenant_b: Tenant
    ) -> None:
        image = await ok(tenant_a.member.http.post("/api/v1/images", json={"name": "alpha-golden"}))
        assert image["visibility"] == "private"
        iid = image["id"]
        for b in tenant_b.personas:
            assert_not_found(await b.http.get(f"/api/v1/images/{iid}"))
            assert iid not in await listed_ids(b.http, "/api/v1/images")
            assert iid not in await listed_ids(b.http, "/api/v1/images", name="alpha-golden")
        for b in (tenant_b.member, tenant_b.manager):
            replace = {"name": "pwned", "visibility": "private"}
            assert_not_found(await b.http.put(f"/api/v1/images/{iid}", json=replace))
            assert_not_found(await b.http.delete(f"/api/v1/images/{iid}"))
            body = {"name": "b-vm", "flavor": "m1.tiny", "image": iid}
            assert_problem(await b.http.post("/api/v1/vms", json=body), 400, "unknown_reference")
            # A typo of A's private image name suggests nothing of A's.
            body = {"name": "b-vm", "flavor": "m1.tiny", "image": "alpha-golde"}
            typo = assert_problem(await b.http.post("/api/v1/vms", json=body), 400)
            assert typo["suggestions"] == []
            assert "alpha-golden" not in typo["detail"]
        assert await ok(tenant_a.member.http.get(f"/api/v1/images/{iid}")) == image
        # Public images stay visible to everyone.
        assert "cirros-0.6" in {
            i["name"] for i in (await ok(tenant_b.member.http.get("/api/v1/images")))["items"]
        }


class TestProjectsMembersQuotas:
    async def test_b_gets_404_for_project_a(self, tenant_a: Tenant, tenant_b: Tenant) -> None:
        pid = tenant_a.project_id
        for b in tenant_b.personas:
            assert_not_found(await b.http.get(f"/api/v1/projects/{pid}"))
            assert_not_found(await b.http.get(f"/api/v1/projects/{pid}/members"))
            assert_not_found(await b.http.get(f"/api/v1/projects/{pid}/quotas"))
            assert await listed_ids(b.http, "/api/v1/projects") == {tenant_b.project_id}

    async def test_b_manager_cannot_touch_a_membership(
        self, cast: Cast, tenant_a: Tenant, tenant_b: Tenant
    ) -> None:
        pid = tenant_a.project_id
        members = f"/api/v1/projects/{pid}/members"
        before = await ok(tenant_a.manager.http.get(members))
        manager: Persona = tenant_b.manager
        # Granting oneself (or anyone) a role on A, changing or revoking A's roles: 404.
        for user_id in (manager.user_id, tenant_b.member.user_id):
            grant = {"user_id": user_id, "role": "manager"}
            assert_not_found(await manager.http.post(members, json=grant))
        change = await manager.http.put(
            f"{members}/{tenant_a.member.user_id}", json={"role": "reader"}
        )
        assert_not_found(change)
        assert_not_found(await manager.http.delete(f"{members}/{tenant_a.member.user_id}"))
        assert await ok(tenant_a.manager.http.get(members)) == before
        member_ids = {m["user_id"] for m in before["items"]}
        assert member_ids == {p.user_id for p in tenant_a.personas}
        # ... and the A member can still work.
        assert (await tenant_a.member.http.get("/api/v1/vms")).status_code == 200

    async def test_b_lists_never_show_a_members(self, tenant_a: Tenant, tenant_b: Tenant) -> None:
        listed = await ok(
            tenant_b.reader.http.get(f"/api/v1/projects/{tenant_b.project_id}/members")
        )
        assert {m["user_id"] for m in listed["items"]} == {p.user_id for p in tenant_b.personas}
        assert {m["project_id"] for m in listed["items"]} == {tenant_b.project_id}

    async def test_quotas_of_a_are_not_readable_from_b(
        self, cast: Cast, tenant_a: Tenant, tenant_b: Tenant
    ) -> None:
        await cast.set_quotas(tenant_a.project_id, instances=3)
        for b in tenant_b.personas:
            assert_not_found(await b.http.get(f"/api/v1/projects/{tenant_a.project_id}/quotas"))
        own = await ok(tenant_b.reader.http.get(f"/api/v1/projects/{tenant_b.project_id}/quotas"))
        assert own["quotas"]["instances"]["limit"] == 10
        a = await ok(tenant_a.reader.http.get(f"/api/v1/projects/{tenant_a.project_id}/quotas"))
        assert a["quotas"]["instances"]["limit"] == 3


class TestApplicationCredentials:
    async def test_b_gets_404_and_a_credential_keeps_working(
        self, anonymous_client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
    ) -> None:
        created = await ok(
            tenant_a.member.http.post("/api/v1/application-credentials", json={"name": "ci"})
        )
        cid = created["id"]
        for b in tenant_b.personas:
            assert_not_found(await b.http.get(f"/api/v1/application-credentials/{cid}"))
            assert_not_found(await b.http.delete(f"/api/v1/application-credentials/{cid}"))
            assert cid not in await listed_ids(b.http, "/api/v1/application-credentials")
        # Credentials are one's own even within a project: A's manager does not see them.
        assert_not_found(await tenant_a.manager.http.get(f"/api/v1/application-credentials/{cid}"))
        login = await anonymous_client.post(
            "/api/v1/auth/tokens",
            json={
                "application_credential_id": cid,
                "application_credential_secret": created["secret"],
            },
        )
        assert login.status_code == 201, login.text
        assert login.json()["project"]["id"] == tenant_a.project_id


class TestAudit:
    async def test_b_manager_never_sees_a_rows(
        self, cast: Cast, tenant_a: Tenant, tenant_b: Tenant, a_server: dict[str, Any]
    ) -> None:
        await ok(tenant_b.member.http.post("/api/v1/application-credentials", json={"name": "b"}))
        body = {"name": "x", "flavor": "m1.tiny", "image": "cirros-0.6"}
        refused = await tenant_a.reader.http.post("/api/v1/vms", json=body)
        assert refused.status_code == 403, refused.text
        b_view = await ok(tenant_b.manager.http.get("/api/v1/audit", params={"per_page": "100"}))
        assert b_view["items"], b_view
        assert {e["project_id"] for e in b_view["items"]} == {tenant_b.project_id}
        a_users = {p.user_id for p in tenant_a.personas}
        assert not a_users & {e["user_id"] for e in b_view["items"]}
        for params in (
            {"project_id": tenant_a.project_id},
            {"resource_id": a_server["id"]},
            {"user_id": str(tenant_a.member.user_id)},
        ):
            narrowed = await ok(tenant_b.manager.http.get("/api/v1/audit", params=params))
            assert narrowed["items"] == [], params
        a_view = await ok(tenant_a.manager.http.get("/api/v1/audit", params={"per_page": "100"}))
        assert {e["project_id"] for e in a_view["items"]} == {tenant_a.project_id}
        everything = await ok(cast.admin.get("/api/v1/audit", params={"per_page": "100"}))
        projects = {e["project_id"] for e in everything["items"]}
        assert {tenant_a.project_id, tenant_b.project_id} <= projects

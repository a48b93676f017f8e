"""The audit trail: every mutating /api request, accepted, refused or failed, with who, which
project, which request, what and on which resource; who may read it; its filters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from tests.api.identity.personas import Cast, Tenant
from tests.builders import assert_problem

from stackgate.bootstrap import Container

VM = {"name": "audited", "flavor": "m1.tiny", "image": "cirros-0.6"}


def request_id(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}"


async def trail(http: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await http.get("/api/v1/audit", params={"per_page": "100", **params})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def by_request(entries: list[dict[str, Any]], rid: str) -> dict[str, Any]:
    found = [e for e in entries if e["request_id"] == rid]
    assert len(found) == 1, (rid, entries)
    return found[0]


class TestRecording:
    async def test_a_refused_request_is_recorded_with_who_and_which_request(
        self, cast: Cast, tenant_a: Tenant
    ) -> None:
        reader = tenant_a.reader
        rid = request_id("reader-tries-create")
        refused = await reader.http.post("/api/v1/vms", json=VM, headers={"X-Request-ID": rid})
        assert_problem(refused, 403, "forbidden")
        assert refused.headers["x-request-id"] == rid
        entries = await trail(cast.admin, user_id=str(reader.user_id), outcome="refused")
        entry = by_request(entries, rid)
        assert entry["user_id"] == reader.user_id
        assert entry["user_name"] == reader.name
        assert entry["project_id"] == tenant_a.project_id
        assert entry["status_code"] == 403
        assert entry["outcome"] == "refused"
        assert (entry["method"], entry["path"]) == ("POST", "/api/v1/vms")
        assert (entry["action"], entry["resource_type"]) == ("create", "vms")
        assert entry["resource_id"] is None
        # The project's manager sees it as well; the refused reader and the member may not look.
        assert by_request(await trail(tenant_a.manager.http), rid) == entry
        for persona in (tenant_a.reader, tenant_a.member):
            assert_problem(await persona.http.get("/api/v1/audit"), 403, "forbidden")

    async def test_accepted_requests_name_their_resource(
        self, container: Container, tenant_a: Tenant
    ) -> None:
        member, manager = tenant_a.member, tenant_a.manager
        created = await member.http.post("/api/v1/vms", json=VM)
        assert created.status_code == 202, created.text
        sid = created.json()["id"]
        await container.runner.drain()
        steps = [
            await member.http.post(f"/api/v1/vms/{sid}/actions/stop"),
            await member.http.patch(f"/api/v1/vms/{sid}", json={"name": "renamed"}),
            await member.http.delete(f"/api/v1/vms/{sid}"),
        ]
        assert [r.status_code for r in steps] == [202, 200, 202]
        # Reads are not audited.
        assert (await member.http.get(f"/api/v1/vms/{sid}")).status_code == 200
        entries = await trail(manager.http, resource_id=sid)
        assert [(e["action"], e["status_code"]) for e in entries] == [
            ("delete", 202),
            ("update", 200),
            ("stop", 202),
            ("create", 202),
        ]
        assert {e["resource_type"] for e in entries} == {"vms"}
        assert {e["outcome"] for e in entries} == {"success"}
        assert {e["user_id"] for e in entries} == {member.user_id}
        assert by_request(entries, created.headers["x-request-id"])["action"] == "create"
        assert all(e["method"] != "GET" for e in await trail(manager.http))

    async def test_membership_changes_are_recorded_on_the_project(
        self, cast: Cast, tenant_a: Tenant
    ) -> None:
        newcomer = await cast.user()
        path = f"/api/v1/projects/{tenant_a.project_id}/members"
        manager = tenant_a.manager.http
        assert (
            await manager.post(path, json={"user_id": newcomer["id"], "role": "reader"})
        ).status_code == 201
        assert (
            await manager.put(f"{path}/{newcomer['id']}", json={"role": "member"})
        ).status_code == 200
        assert (await manager.delete(f"{path}/{newcomer['id']}")).status_code == 204
        escalate = await manager.post(path, json={"user_id": newcomer["id"], "role": "admin"})
        assert_problem(escalate, 403, "role_not_grantable")
        entries = await trail(manager, resource_type="projects", resource_id=tenant_a.project_id)
        assert [(e["action"], e["outcome"]) for e in entries] == [
            ("members.create", "refused"),
            ("members.delete", "success"),
            ("members.replace", "success"),
            ("members.create", "success"),
        ]

    async def test_anonymous_and_failed_logins_are_recorded(
        self, anonymous_client: httpx.AsyncClient, cast: Cast
    ) -> None:
        anonymous = request_id("anonymous")
        response = await anonymous_client.post(
            "/api/v1/vms", json=VM, headers={"X-Request-ID": anonymous}
        )
        assert_problem(response, 401)
        bad_login = request_id("bad-login")
        response = await anonymous_client.post(
            "/api/v1/auth/tokens",
            json={"username": "admin", "password": "guess-1234", "project": "admin"},
            headers={"X-Request-ID": bad_login},
        )
        assert_problem(response, 401, "invalid_credentials")
        refused = await trail(cast.admin, outcome="refused")
        entry = by_request(refused, anonymous)
        assert (entry["user_id"], entry["project_id"], entry["status_code"]) == (None, None, 401)
        assert entry["client_address"] == "127.0.0.1"
        entry = by_request(refused, bad_login)
        assert (entry["resource_type"], entry["status_code"]) == ("auth", 401)
        assert "guess" not in str(entry)

    async def test_a_failed_request_is_recorded_as_failed(
        self, monkeypatch: pytest.MonkeyPatch, cast: Cast, container: Container, tenant_a: Tenant
    ) -> None:
        async def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("the database fell over")

        monkeypatch.setattr(container.servers, "create", broken)
        rid = request_id("boom")
        response = await tenant_a.member.http.post(
            "/api/v1/vms", json=VM, headers={"X-Request-ID": rid}
        )
        assert_problem(response, 500, "internal_error")
        entry = by_request(await trail(cast.admin, outcome="failed"), rid)
        assert (entry["status_code"], entry["outcome"]) == (500, "failed")
        assert entry["user_id"] == tenant_a.member.user_id
        assert entry["project_id"] == tenant_a.project_id


class TestReading:
    async def test_filters(self, cast: Cast, tenant_a: Tenant) -> None:
        member = tenant_a.member
        first = await member.http.post("/api/v1/application-credentials", json={"name": "one"})
        assert first.status_code == 201
        between = datetime.now(UTC)
        second = await member.http.post("/api/v1/vms", json=VM)
        assert second.status_code == 202
        refused = await tenant_a.reader.http.post("/api/v1/vms", json=VM)
        assert refused.status_code == 403
        admin = cast.admin
        project = {"project_id": tenant_a.project_id}
        rid = {r.headers["x-request-id"] for r in (first, second, refused)}
        everything = await trail(admin, **project)
        assert {e["request_id"] for e in everything} >= rid

        def ids(entries: list[dict[str, Any]]) -> set[str]:
            return {e["request_id"] for e in entries} & rid

        first_id, second_id, refused_id = (
            r.headers["x-request-id"] for r in (first, second, refused)
        )
        assert ids(await trail(admin, user_id=str(member.user_id))) == {first_id, second_id}
        assert ids(await trail(admin, resource_type="vms", **project)) == {second_id, refused_id}
        assert ids(await trail(admin, outcome="refused", **project)) == {refused_id}
        assert ids(await trail(admin, outcome="success", **project)) == {first_id, second_id}
        assert ids(await trail(admin, action="create", resource_type="vms")) == {
            second_id,
            refused_id,
        }
        since = between.isoformat()
        assert ids(await trail(admin, since=since, **project)) == {second_id, refused_id}
        assert ids(await trail(admin, until=since, **project)) == {first_id}
        assert await trail(admin, resource_id="no-such-resource") == []
        bad = await admin.get("/api/v1/audit", params={"outcome": "maybe"})
        assert bad.status_code == 422

    async def test_who_reads_what(self, cast: Cast, tenant_a: Tenant, tenant_b: Tenant) -> None:
        for tenant in (tenant_a, tenant_b):
            response = await tenant.member.http.post("/api/v1/vms", json=VM)
            assert response.status_code == 202
        admin_view = {e["project_id"] for e in await trail(cast.admin)}
        assert {tenant_a.project_id, tenant_b.project_id} <= admin_view
        manager_view = {e["project_id"] for e in await trail(tenant_a.manager.http)}
        assert manager_view == {tenant_a.project_id}
        for persona in (tenant_a.reader, tenant_a.member, tenant_b.reader, tenant_b.member):
            assert_problem(await persona.http.get("/api/v1/audit"), 403, "forbidden")

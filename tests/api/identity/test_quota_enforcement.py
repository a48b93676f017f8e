"""Quotas: limits and usage per project, admin-only changes, and enforcement in the same
transaction as the create or resize, exact under concurrency on every database."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from tests.api.identity.personas import Cast, Tenant
from tests.builders import assert_problem

from stackgate.bootstrap import Container
from stackgate.identity.quotas import DEFAULT_QUOTAS as DEFAULTS

pytestmark = pytest.mark.dialects

VM = {"flavor": "m1.tiny", "image": "cirros-0.6"}


async def quotas(http: httpx.AsyncClient, project_id: str) -> dict[str, dict[str, int]]:
    response = await http.get(f"/api/v1/projects/{project_id}/quotas")
    assert response.status_code == 200, response.text
    assert response.json()["project_id"] == project_id
    return dict(response.json()["quotas"])


async def create(http: httpx.AsyncClient, name: str, **fields: Any) -> httpx.Response:
    return await http.post("/api/v1/vms", json={**VM, "name": name, **fields})


def assert_quota_exceeded(
    response: httpx.Response, resource: str, limit: int, in_use: int
) -> dict[str, Any]:
    body = assert_problem(response, 403, "quota_exceeded")
    assert (body["resource"], body["limit"], body["in_use"]) == (resource, limit, in_use), body
    assert resource in body["detail"]
    return body


class TestQuotaApi:
    async def test_defaults_and_usage(self, container: Container, tenant_a: Tenant) -> None:
        fresh = await quotas(tenant_a.reader.http, tenant_a.project_id)
        assert fresh == {name: {"limit": limit, "in_use": 0} for name, limit in DEFAULTS.items()}
        assert fresh["floating_ips"] == {"limit": 50, "in_use": 0}
        assert (await create(tenant_a.member.http, "a", flavor="m1.small")).status_code == 202
        assert (await create(tenant_a.member.http, "b", flavor="m1.medium")).status_code == 202
        used = {
            k: v["in_use"]
            for k, v in (await quotas(tenant_a.reader.http, tenant_a.project_id)).items()
        }
        # Each server gets a port on the project's private network; that network, its subnet
        # and the default security group are made on first use and count against nothing.
        assert used == {
            **{name: 0 for name in DEFAULTS},
            "instances": 2,
            "cores": 1 + 2,
            "ram": 2048 + 4096,
            "ports": 2,
        }

    async def test_only_the_cloud_admin_changes_limits(self, cast: Cast, tenant_a: Tenant) -> None:
        path = f"/api/v1/projects/{tenant_a.project_id}/quotas"
        for persona in tenant_a.personas:
            response = await persona.http.put(path, json={"quotas": {"instances": 100}})
            assert_problem(response, 403, "forbidden")
        response = await cast.admin.put(path, json={"quotas": {"instances": 3, "ram": -1}})
        assert response.status_code == 200, response.text
        assert response.json()["quotas"]["instances"] == {"limit": 3, "in_use": 0}
        assert response.json()["quotas"]["ram"] == {"limit": -1, "in_use": 0}
        assert (await quotas(tenant_a.reader.http, tenant_a.project_id))["instances"]["limit"] == 3

    async def test_bad_limits_are_refused(self, cast: Cast, tenant_a: Tenant) -> None:
        path = f"/api/v1/projects/{tenant_a.project_id}/quotas"
        unknown = await cast.admin.put(path, json={"quotas": {"fixed_ips": 3}})
        assert_problem(unknown, 400, "invalid_input")
        assert (await cast.admin.put(path, json={"quotas": {"instances": -2}})).status_code == 422
        missing = await cast.admin.put(
            "/api/v1/projects/00000000-0000-0000-0000-00000000beef/quotas",
            json={"quotas": {"instances": 1}},
        )
        assert_problem(missing, 404, "not_found")
        assert (await quotas(cast.admin, tenant_a.project_id))["instances"]["limit"] == 10


class TestEnforcement:
    async def test_parallel_creates_stop_exactly_at_the_limit(
        self, container: Container, cast: Cast
    ) -> None:
        tenant = await cast.tenant(instances=10)
        http = tenant.member.http
        answers = await asyncio.gather(*(create(http, f"burst-{i}") for i in range(20)))
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [202] * 10 + [403] * 10, [r.text for r in answers]
        for refused in (r for r in answers if r.status_code == 403):
            assert_quota_exceeded(refused, "instances", 10, 10)
        listed = await http.get("/api/v1/vms", params={"per_page": "100"})
        assert listed.json()["total"] == 10
        accepted = {r.json()["id"] for r in answers if r.status_code == 202}
        assert {s["id"] for s in listed.json()["items"]} == accepted
        usage = await quotas(http, tenant.project_id)
        assert usage["instances"] == {"limit": 10, "in_use": 10}

        await container.runner.drain()
        victim = sorted(accepted)[0]
        assert (await http.delete(f"/api/v1/vms/{victim}")).status_code == 202
        # Until the cloud has deleted it, the server still counts (as in Nova).
        assert_quota_exceeded(await create(http, "too-early"), "instances", 10, 10)
        await container.runner.drain()
        assert (await http.get(f"/api/v1/vms/{victim}")).status_code == 404
        assert (await create(http, "replacement")).status_code == 202
        assert_quota_exceeded(await create(http, "one-too-many"), "instances", 10, 10)
        assert (await http.get("/api/v1/vms")).json()["total"] == 10

    async def test_cores_and_ram_on_create(self, cast: Cast) -> None:
        tenant = await cast.tenant(cores=3, ram=4096)
        http = tenant.member.http
        assert (await create(http, "small", flavor="m1.small")).status_code == 202
        body = assert_quota_exceeded(
            await create(http, "medium", flavor="m1.medium"), "ram", 4096, 2048
        )
        assert body["requested"] == 4096
        assert_quota_exceeded(await create(http, "large", flavor="m1.large"), "cores", 3, 1)
        assert (await http.get("/api/v1/vms")).json()["total"] == 1

    async def test_cores_on_resize(self, container: Container, cast: Cast) -> None:
        tenant = await cast.tenant(cores=2)
        http = tenant.member.http
        server = (await create(http, "grow-me")).json()
        await container.runner.drain()
        before = (await http.get(f"/api/v1/vms/{server['id']}")).json()
        assert before["status"] == "ACTIVE"
        refused = await http.post(
            f"/api/v1/vms/{server['id']}/actions/resize", json={"flavor": "m1.large"}
        )
        body = assert_quota_exceeded(refused, "cores", 2, 1)
        assert body["requested"] == 4 - 1
        await container.runner.drain()
        after = (await http.get(f"/api/v1/vms/{server['id']}")).json()
        assert (after["status"], after["flavor"], after["version"]) == (
            "ACTIVE",
            before["flavor"],
            before["version"],
        )
        log = (await http.get(f"/api/v1/vms/{server['id']}/actions")).json()["items"]
        assert [entry["action"] for entry in log] == ["create"]
        # An upsize that fits is accepted.
        fits = await http.post(
            f"/api/v1/vms/{server['id']}/actions/resize", json={"flavor": "m1.medium"}
        )
        assert fits.status_code == 202, fits.text

"""Networks: /api/v1/networks (create, list, get, update, delete), tenancy and quotas."""

from __future__ import annotations

import httpx
from tests.api.network_builders import create_network, get, network_with_subnet, settle
from tests.builders import PROBLEM_JSON
from tests.conftest import DEMO_PASSWORD, api_client, login, set_quotas

from stackgate.bootstrap import Container
from stackgate.core.context import DEFAULT_PROJECT_ID
from stackgate.network.seed import PRIVATE_CIDR, PUBLIC_NETWORK_ID


class TestCreate:
    async def test_accepted_in_build_then_active(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        response = await client.post("/api/v1/networks", json={"name": "net-a"})
        assert response.status_code == 202, response.text
        body = response.json()
        assert response.headers["location"] == f"/api/v1/networks/{body['id']}"
        assert body["status"] == "BUILD"
        assert body["shared"] is False and body["external"] is False
        await settle(container)
        settled = await get(client, f"/api/v1/networks/{body['id']}")
        assert settled["status"] == "ACTIVE"
        assert settled["error_message"] is None

    async def test_shared_or_external_needs_the_cloud_admin(
        self, client: httpx.AsyncClient, admin_client: httpx.AsyncClient
    ) -> None:
        for flag in ("shared", "external"):
            response = await client.post("/api/v1/networks", json={"name": "x", flag: True})
            assert response.status_code == 403, response.text
            assert response.headers["content-type"].startswith(PROBLEM_JSON)
            assert response.json()["rule"] == "network:external"
        response = await admin_client.post(
            "/api/v1/networks", json={"name": "ext", "external": True}
        )
        assert response.status_code == 202, response.text

    async def test_invalid_bodies_change_nothing(self, client: httpx.AsyncClient) -> None:
        before = (await get(client, "/api/v1/networks"))["total"]
        for body in ({}, {"name": ""}, {"name": "x", "shared": "yes"}, {"name": "x", "mtu": 9}):
            response = await client.post("/api/v1/networks", json=body)
            assert response.status_code == 422, (body, response.text)
        assert (await get(client, "/api/v1/networks"))["total"] == before

    async def test_worker_failure_sets_error(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        await get(client, "/api/v1/networks")  # the private network exists
        await settle(container)
        container.provider.fail_call("create_network")  # type: ignore[attr-defined]
        network = await create_network(client)
        await settle(container)
        body = await get(client, f"/api/v1/networks/{network['id']}")
        assert body["status"] == "ERROR"
        assert "injected failure" in body["error_message"]


class TestList:
    async def test_lists_own_private_and_shared_public(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        mine = await create_network(client, name="mine")
        body = await get(client, "/api/v1/networks?per_page=100")
        names = {n["name"]: n for n in body["items"]}
        assert {"mine", "private", "public"} <= names.keys()
        assert names["public"]["id"] == PUBLIC_NETWORK_ID
        assert names["public"]["shared"] and names["public"]["external"]
        assert names["mine"]["id"] == mine["id"]
        # The private network is made once, however often the list runs.
        again = await get(client, "/api/v1/networks?name=private")
        assert again["total"] == 1
        await settle(container)
        private = await get(client, f"/api/v1/networks/{names['private']['id']}")
        assert private["status"] == "ACTIVE"
        subnets = await get(client, f"/api/v1/subnets?network_id={private['id']}")
        assert [s["cidr"] for s in subnets["items"]] == [PRIVATE_CIDR]
        assert subnets["items"][0]["name"] == "private-subnet"
        assert subnets["items"][0]["status"] == "ACTIVE"

    async def test_filters_and_paging(self, client: httpx.AsyncClient) -> None:
        for i in range(3):
            await create_network(client, name=f"page-{i}")
        body = await get(client, "/api/v1/networks?name=page-&per_page=2&sort=name")
        assert body["total"] == 3
        assert [n["name"] for n in body["items"]] == ["page-0", "page-1"]
        build = await get(client, "/api/v1/networks?status=BUILD&name=page")
        assert build["total"] == 3
        keyset = await get(client, "/api/v1/networks?name=page-&limit=2&sort=name")
        assert keyset["next_cursor"]
        assert (await client.get("/api/v1/networks?status=NOPE")).status_code == 422


class TestUpdate:
    async def test_rename_and_describe(self, client: httpx.AsyncClient) -> None:
        network = await create_network(client)
        response = await client.patch(
            f"/api/v1/networks/{network['id']}", json={"name": "renamed", "description": "d"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["name"] == "renamed"
        assert response.json()["description"] == "d"
        assert (await client.patch(f"/api/v1/networks/{network['id']}", json={})).status_code == 422

    async def test_public_is_not_the_members(self, client: httpx.AsyncClient) -> None:
        response = await client.patch(f"/api/v1/networks/{PUBLIC_NETWORK_ID}", json={"name": "x"})
        assert response.status_code == 403
        assert response.json()["code"] == "network_not_owned"


class TestDelete:
    async def test_deleted_by_the_worker_with_its_subnets(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        network, subnet = await network_with_subnet(client)
        await settle(container)
        response = await client.delete(f"/api/v1/networks/{network['id']}")
        assert response.status_code == 202, response.text
        assert response.headers["location"] == f"/api/v1/networks/{network['id']}"
        # Queued: no longer found by the API, gone once the cloud deleted it.
        assert (await client.get(f"/api/v1/networks/{network['id']}")).status_code == 404
        await settle(container)
        assert (await client.get(f"/api/v1/subnets/{subnet['id']}")).status_code == 404
        cloud = container.provider.network
        assert not await cloud.networks(tags=(f"stackgate-id={network['id']}",))

    async def test_delete_before_the_cloud_made_it(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        network = await create_network(client)
        assert (await client.delete(f"/api/v1/networks/{network['id']}")).status_code == 202
        await settle(container)
        cloud = container.provider.network
        assert not await cloud.networks(tags=(f"stackgate-id={network['id']}",))

    async def test_in_use_while_it_has_ports(self, client: httpx.AsyncClient) -> None:
        network, _ = await network_with_subnet(client)
        port = await client.post("/api/v1/ports", json={"network_id": network["id"]})
        assert port.status_code == 202, port.text
        response = await client.delete(f"/api/v1/networks/{network['id']}")
        assert response.status_code == 409
        assert response.json()["code"] == "network_in_use"

    async def test_public_cannot_be_deleted_by_members(self, client: httpx.AsyncClient) -> None:
        response = await client.delete(f"/api/v1/networks/{PUBLIC_NETWORK_ID}")
        assert response.status_code == 403
        assert (await client.get(f"/api/v1/networks/{PUBLIC_NETWORK_ID}")).status_code == 200


class TestTenancy:
    async def test_another_projects_network_is_not_found(
        self, client: httpx.AsyncClient, admin_client: httpx.AsyncClient, container: Container
    ) -> None:
        theirs = (await admin_client.post("/api/v1/networks", json={"name": "admins"})).json()
        for method in ("GET", "PATCH", "DELETE"):
            body = {"name": "x"} if method == "PATCH" else None
            response = await client.request(method, f"/api/v1/networks/{theirs['id']}", json=body)
            assert response.status_code == 404, (method, response.text)
        listed = await get(client, "/api/v1/networks?per_page=100")
        assert theirs["id"] not in {n["id"] for n in listed["items"]}
        # The cloud admin reaches every project's network.
        mine = await create_network(client)
        assert (await admin_client.get(f"/api/v1/networks/{mine['id']}")).status_code == 200


class TestQuota:
    async def test_networks_over_quota_is_refused(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        await set_quotas(container, DEFAULT_PROJECT_ID, networks=1)
        await create_network(client)
        response = await client.post("/api/v1/networks", json={"name": "two"})
        assert response.status_code == 403
        assert response.json()["code"] == "quota_exceeded"
        quotas = await get(client, f"/api/v1/projects/{DEFAULT_PROJECT_ID}/quotas")
        assert "networks" in str(quotas)

    async def test_usage_is_per_project(self, container: Container) -> None:
        token = await login(container, "demo", DEMO_PASSWORD, "demo")
        async with api_client(container, token) as http:
            await create_network(http)

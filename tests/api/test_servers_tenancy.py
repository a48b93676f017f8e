"""Servers belong to one project: another project's member sees 404 (Tempest R13), the cloud
admin reaches every project, and a lock stops members but not the admin (DESIGN.md 5)."""

from __future__ import annotations

import httpx
from tests.builders import act, assert_problem, gone, server_in, settle

from stackgate.bootstrap import Container


class TestAnotherProject:
    async def test_every_endpoint_answers_404(
        self, client: httpx.AsyncClient, other_client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        base = f"/api/v1/vms/{server['id']}"
        calls = [
            other_client.get(base),
            other_client.patch(base, json={"name": "stolen"}),
            other_client.delete(base),
            other_client.post(f"{base}/actions/stop"),
            other_client.post(f"{base}/actions/lock"),
            other_client.post(f"{base}/actions/resize", json={"flavor": "m1.large"}),
            other_client.get(f"{base}/actions"),
            other_client.post(f"{base}/snapshots", json={"name": "s"}),
            other_client.get(f"{base}/snapshots"),
        ]
        for call in calls:
            assert_problem(await call, 404, "not_found")
        await container.runner.drain()
        assert (await client.get(base)).json() == server

    async def test_lists_are_separate(
        self, client: httpx.AsyncClient, other_client: httpx.AsyncClient, container: Container
    ) -> None:
        mine = await server_in(client, container, "ACTIVE", name="mine")
        theirs = await server_in(other_client, container, "ACTIVE", name="theirs")
        listed = (await client.get("/api/v1/vms")).json()
        assert [s["id"] for s in listed["items"]] == [mine["id"]]
        assert listed["total"] == 1
        listed = (await other_client.get("/api/v1/vms", params={"name": "mine"})).json()
        assert listed["items"] == []
        assert theirs["project_id"] != mine["project_id"]

    async def test_idempotency_keys_are_per_project(
        self, client: httpx.AsyncClient, other_client: httpx.AsyncClient
    ) -> None:
        body = {"name": "web", "flavor": "m1.small", "image": "cirros-0.6"}
        headers = {"Idempotency-Key": "shared-key-1"}
        mine = await client.post("/api/v1/vms", json=body, headers=headers)
        theirs = await other_client.post("/api/v1/vms", json=body, headers=headers)
        assert (mine.status_code, theirs.status_code) == (202, 202)
        assert mine.json()["id"] != theirs.json()["id"]
        assert theirs.json()["project_id"] != mine.json()["project_id"]

    async def test_private_snapshot_is_not_visible_to_another_project(
        self, client: httpx.AsyncClient, other_client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        image = (
            await client.post(f"/api/v1/vms/{server['id']}/snapshots", json={"name": "private"})
        ).json()
        await container.runner.drain()
        assert_problem(await other_client.get(f"/api/v1/images/{image['id']}"), 404)
        response = await other_client.post(
            "/api/v1/vms", json={"name": "x", "flavor": "m1.small", "image": image["id"]}
        )
        assert_problem(response, 400, "unknown_reference")


class TestCloudAdmin:
    async def test_admin_sees_and_acts_on_a_project_server(
        self, client: httpx.AsyncClient, admin_client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        shown = await admin_client.get(f"/api/v1/vms/{server['id']}")
        assert shown.status_code == 200, shown.text
        assert (await act(admin_client, server["id"], "stop")).status_code == 202
        assert (await settle(client, container, server["id"]))["status"] == "SHUTOFF"

    async def test_a_lock_stops_members_but_not_the_admin(
        self, client: httpx.AsyncClient, admin_client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        assert (await act(client, server["id"], "lock")).status_code == 202
        assert_problem(await act(client, server["id"], "reboot"), 409, "server_locked")
        response = await act(admin_client, server["id"], "reboot")
        assert response.status_code == 202, response.text
        assert (await settle(client, container, server["id"]))["status"] == "ACTIVE"
        deleted = await admin_client.delete(f"/api/v1/vms/{server['id']}")
        assert deleted.status_code == 202, deleted.text
        assert (await gone(client, container, server["id"]))["status"] == "DELETED"


class TestCloudId:
    async def test_the_cloud_admin_sees_the_clouds_id_and_a_member_does_not(
        self, client: httpx.AsyncClient, admin_client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE", name="web-cloud-id")
        base = f"/api/v1/vms/{server['id']}"
        as_admin = (await admin_client.get(base)).json()
        cloud_id = as_admin["provider_id"]
        assert isinstance(cloud_id, str) and cloud_id
        assert (await container.provider.compute.get_server(cloud_id)).name == "web-cloud-id"
        assert server["provider_id"] is None
        assert (await client.get(base)).json()["provider_id"] is None
        (listed,) = (await client.get("/api/v1/vms")).json()["items"]
        assert listed["provider_id"] is None
        stopped = await client.post(f"{base}/actions/stop")
        assert stopped.status_code == 202 and stopped.json()["provider_id"] is None
        renamed = await admin_client.patch(base, json={"description": "seen by the admin"})
        assert renamed.json()["provider_id"] == cloud_id

"""POST/GET /api/v1/vms/{id}/snapshots: a queued image that becomes active and boots servers."""

from __future__ import annotations

import httpx
import pytest
from tests.builders import assert_problem, create_server, gone, server_in, settle

from stackgate.bootstrap import Container


async def snapshot(client: httpx.AsyncClient, server_id: str, name: str) -> httpx.Response:
    return await client.post(f"/api/v1/vms/{server_id}/snapshots", json={"name": name})


class TestSnapshot:
    async def test_queued_then_active_and_listed(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        response = await snapshot(client, server["id"], "nightly")
        assert response.status_code == 202, response.text
        image = response.json()
        assert image["status"] == "queued"
        assert image["name"] == "nightly"
        assert image["source_server_id"] == server["id"]
        assert image["image_type"] == "snapshot"
        assert response.headers["location"] == f"/api/v1/images/{image['id']}"
        working = (await client.get(f"/api/v1/vms/{server['id']}")).json()
        assert working["status"] == "ACTIVE"
        assert working["task_state"] is not None
        assert working["task_state"].startswith("image_")

        done = await settle(client, container, server["id"])
        assert (done["status"], done["task_state"]) == ("ACTIVE", None)
        shown = (await client.get(f"/api/v1/images/{image['id']}")).json()
        assert shown["status"] == "active"
        assert shown["size_bytes"]
        own = (await client.get(f"/api/v1/vms/{server['id']}/snapshots")).json()
        assert [i["id"] for i in own["items"]] == [image["id"]]
        assert own["items"][0]["status"] == "active"
        catalog = (await client.get("/api/v1/images", params={"per_page": 100})).json()
        assert image["id"] in {i["id"] for i in catalog["items"]}

    async def test_a_snapshot_boots_a_new_server(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        image = (await snapshot(client, server["id"], "golden")).json()
        await container.runner.drain()
        clone = await create_server(client, name="clone", image=image["id"])
        assert clone["image"] == {"id": image["id"], "name": "golden"}
        built = await settle(client, container, clone["id"])
        assert built["status"] == "ACTIVE"
        by_name = await create_server(client, name="clone-2", image="golden")
        assert by_name["image"]["id"] == image["id"]

    async def test_snapshot_keeps_the_source_disk_as_min_disk(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE", flavor="m1.small")
        image = (await snapshot(client, server["id"], "big")).json()
        await container.runner.drain()
        response = await client.post(
            "/api/v1/vms", json={"name": "small", "flavor": "m1.tiny", "image": image["id"]}
        )
        assert_problem(response, 400, "flavor_too_small")

    async def test_a_queued_snapshot_cannot_boot_yet(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        image = (await snapshot(client, server["id"], "not-yet")).json()
        response = await client.post(
            "/api/v1/vms", json={"name": "early", "flavor": "m1.small", "image": image["id"]}
        )
        problem = assert_problem(response, 400, "image_not_active")
        assert problem["field"] == "image"

    @pytest.mark.parametrize("status", ["SHUTOFF", "PAUSED", "SUSPENDED"])
    async def test_other_statuses_that_allow_snapshots(
        self, client: httpx.AsyncClient, container: Container, status: str
    ) -> None:
        server = await server_in(client, container, status)
        assert (await snapshot(client, server["id"], f"snap-{status}")).status_code == 202
        done = await settle(client, container, server["id"])
        assert (done["status"], done["task_state"]) == (status, None)
        own = (await client.get(f"/api/v1/vms/{server['id']}/snapshots")).json()
        assert own["items"][0]["status"] == "active"

    async def test_several_snapshots_newest_first(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        for name in ("first", "second"):
            assert (await snapshot(client, server["id"], name)).status_code == 202
            await container.runner.drain()
        own = (await client.get(f"/api/v1/vms/{server['id']}/snapshots")).json()
        assert [i["name"] for i in own["items"]] == ["second", "first"]
        assert own["total"] == 2

    async def test_snapshot_image_in_use_cannot_be_deleted(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        image = (await snapshot(client, server["id"], "base")).json()
        await container.runner.drain()
        clone = await create_server(client, image=image["id"])
        assert_problem(await client.delete(f"/api/v1/images/{image['id']}"), 409, "in_use")
        await client.delete(f"/api/v1/vms/{clone['id']}")
        await container.runner.drain()
        assert (await client.delete(f"/api/v1/images/{image['id']}")).status_code == 204
        await container.runner.drain()
        assert (await client.get(f"/api/v1/images/{image['id']}")).status_code == 404


class TestRefused:
    @pytest.mark.parametrize("status", ["SHELVED_OFFLOADED", "VERIFY_RESIZE"])
    async def test_invalid_status_is_409(
        self, client: httpx.AsyncClient, container: Container, status: str
    ) -> None:
        server = await server_in(client, container, status)
        problem = assert_problem(
            await snapshot(client, server["id"], "nope"), 409, "invalid_state_transition"
        )
        assert problem["current_status"] == status
        own = (await client.get(f"/api/v1/vms/{server['id']}/snapshots")).json()
        assert own["items"] == []

    async def test_while_building_is_409(self, client: httpx.AsyncClient) -> None:
        server = await create_server(client)
        assert_problem(await snapshot(client, server["id"], "early"), 409)
        images = (await client.get("/api/v1/images", params={"name": "early"})).json()
        assert images["items"] == []

    async def test_second_snapshot_while_one_runs_is_409(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        assert (await snapshot(client, server["id"], "one")).status_code == 202
        assert_problem(await snapshot(client, server["id"], "two"), 409)
        await container.runner.drain()
        own = (await client.get(f"/api/v1/vms/{server['id']}/snapshots")).json()
        assert [i["name"] for i in own["items"]] == ["one"]

    @pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 256}, {"name": "a", "x": 1}])
    async def test_bad_body_is_422(
        self, client: httpx.AsyncClient, container: Container, body: dict[str, object]
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        response = await client.post(f"/api/v1/vms/{server['id']}/snapshots", json=body)
        assert_problem(response, 422, "validation_error")
        assert (await client.get(f"/api/v1/vms/{server['id']}")).json() == server

    async def test_delete_during_a_snapshot_kills_the_image(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        image = (await snapshot(client, server["id"], "doomed")).json()
        assert (await client.delete(f"/api/v1/vms/{server['id']}")).status_code == 202
        await container.runner.drain()
        shown = (await client.get(f"/api/v1/images/{image['id']}")).json()
        assert shown["status"] == "killed"
        assert (await gone(client, container, server["id"]))["status"] == "DELETED"

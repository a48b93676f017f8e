"""/api/v1/volume-snapshots: create, list, get, delete; a volume with snapshots stays."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from tests.api.test_volumes import available_volume, set_status
from tests.builders import assert_problem
from tests.conftest import set_quotas

from stackgate.bootstrap import Container
from stackgate.core.context import DEFAULT_PROJECT_ID
from stackgate.core.ids import new_id
from stackgate.providers.simulator import SimulatorProvider

SETTLED = {"available", "error"}


async def create_snapshot(client: httpx.AsyncClient, volume_id: str, **fields: Any) -> Any:
    response = await client.post(
        "/api/v1/volume-snapshots", json={"volume_id": volume_id, **fields}
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["location"] == f"/api/v1/volume-snapshots/{body['id']}"
    return body


async def settle(
    client: httpx.AsyncClient, container: Container, snapshot_id: str
) -> httpx.Response:
    for _ in range(200):
        await container.runner.drain()
        response = await client.get(f"/api/v1/volume-snapshots/{snapshot_id}")
        if response.status_code == 404 or response.json()["status"] in SETTLED:
            return response
        await asyncio.sleep(0.02)
    raise AssertionError(f"snapshot {snapshot_id} did not settle: {response.text}")


async def available_snapshot(
    client: httpx.AsyncClient, container: Container, volume_id: str, **fields: Any
) -> Any:
    accepted = await create_snapshot(client, volume_id, **fields)
    body = (await settle(client, container, accepted["id"])).json()
    assert body["status"] == "available", body
    return body


class TestSnapshots:
    async def test_create_list_get_delete(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        volume = await available_volume(client, container, size=3)
        accepted = await create_snapshot(client, volume["id"], name="before-upgrade")
        assert (accepted["status"], accepted["size"]) == ("creating", 3)
        snapshot = (await settle(client, container, accepted["id"])).json()
        assert snapshot["status"] == "available"
        assert (snapshot["name"], snapshot["volume_id"]) == ("before-upgrade", volume["id"])
        other = await available_volume(client, container)
        await available_snapshot(client, container, other["id"])

        listed = (await client.get("/api/v1/volume-snapshots")).json()
        assert listed["total"] == 2
        of_volume = (
            await client.get("/api/v1/volume-snapshots", params={"volume_id": volume["id"]})
        ).json()
        assert [s["id"] for s in of_volume["items"]] == [snapshot["id"]]
        creating = (
            await client.get("/api/v1/volume-snapshots", params={"status": "creating"})
        ).json()
        assert creating["total"] == 0

        # The volume itself is untouched by the snapshot.
        shown = (await client.get(f"/api/v1/volumes/{volume['id']}")).json()
        assert shown["status"] == "available"

        deleting = await client.delete(f"/api/v1/volume-snapshots/{snapshot['id']}")
        assert deleting.status_code == 202, deleting.text
        assert deleting.json()["status"] == "deleting"
        assert_problem(await settle(client, container, snapshot["id"]), 404, "not_found")
        assert (await client.get("/api/v1/volume-snapshots")).json()["total"] == 1

    async def test_a_volume_with_snapshots_cannot_be_deleted(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        volume = await available_volume(client, container)
        snapshot = await available_snapshot(client, container, volume["id"])
        response = await client.delete(f"/api/v1/volumes/{volume['id']}")
        body = assert_problem(response, 409, "volume_has_snapshots")
        assert body["snapshots"] == 1
        await client.delete(f"/api/v1/volume-snapshots/{snapshot['id']}")
        await settle(client, container, snapshot["id"])
        assert (await client.delete(f"/api/v1/volumes/{volume['id']}")).status_code == 202

    @pytest.mark.parametrize("status", ["creating", "in-use", "error", "extending"])
    async def test_volume_must_be_available(
        self, client: httpx.AsyncClient, container: Container, status: str
    ) -> None:
        volume = await available_volume(client, container)
        await set_status(container, volume["id"], status)
        response = await client.post("/api/v1/volume-snapshots", json={"volume_id": volume["id"]})
        body = assert_problem(response, 409, "invalid_volume_state")
        assert body["current_status"] == status
        assert (await client.get("/api/v1/volume-snapshots")).json()["total"] == 0

    async def test_in_use_needs_force(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        volume = await available_volume(client, container)
        await set_status(container, volume["id"], "in-use")
        forced = await client.post(
            "/api/v1/volume-snapshots", json={"volume_id": volume["id"], "force": True}
        )
        assert forced.status_code == 202, forced.text

    async def test_unknown_volume_is_a_bad_request(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/v1/volume-snapshots", json={"volume_id": new_id()})
        assert_problem(response, 400, "unknown_reference")
        assert_problem(await client.get(f"/api/v1/volume-snapshots/{new_id()}"), 404)

    async def test_snapshot_being_made_cannot_be_deleted(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        volume = await available_volume(client, container)
        accepted = await create_snapshot(client, volume["id"])  # no drain: still creating
        response = await client.delete(f"/api/v1/volume-snapshots/{accepted['id']}")
        assert_problem(response, 409, "invalid_snapshot_state")

    async def test_snapshots_and_gigabytes_quota(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        volume = await available_volume(client, container, size=4)
        await set_quotas(container, DEFAULT_PROJECT_ID, snapshots=1, gigabytes=10)
        await create_snapshot(client, volume["id"])
        many = assert_problem(
            await client.post("/api/v1/volume-snapshots", json={"volume_id": volume["id"]}), 403
        )
        assert (many["code"], many["resource"]) == ("quota_exceeded", "snapshots")
        await set_quotas(container, DEFAULT_PROJECT_ID, snapshots=5)
        # 4 (volume) + 4 (snapshot) used; another 4 GB snapshot would make 12 > 10.
        big = assert_problem(
            await client.post("/api/v1/volume-snapshots", json={"volume_id": volume["id"]}), 403
        )
        assert (big["code"], big["resource"]) == ("quota_exceeded", "gigabytes")

    @pytest.mark.dialects
    async def test_parallel_snapshots_stop_exactly_at_the_limit(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        volume = await available_volume(client, container)
        await set_quotas(container, DEFAULT_PROJECT_ID, snapshots=2)
        responses = await asyncio.gather(
            *(
                client.post("/api/v1/volume-snapshots", json={"volume_id": volume["id"]})
                for _ in range(6)
            )
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [202] * 2 + [403] * 4, [r.text for r in responses]

    async def test_a_failed_snapshot_ends_in_error(
        self, client: httpx.AsyncClient, container: Container, provider: SimulatorProvider
    ) -> None:
        volume = await available_volume(client, container)
        provider.fail_call("create_snapshot")
        accepted = await create_snapshot(client, volume["id"])
        failed = (await settle(client, container, accepted["id"])).json()
        assert failed["status"] == "error"
        assert "injected failure" in failed["error_message"]
        assert (
            await client.delete(f"/api/v1/volume-snapshots/{accepted['id']}")
        ).status_code == 202
        assert (await settle(client, container, accepted["id"])).status_code == 404

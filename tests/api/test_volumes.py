"""/api/v1/volumes: create (plain, from an image), read, list, update, delete, extend, quotas,
tenancy, and failures in the simulated cloud (Cinder's rules, our API's answers)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from tests.builders import assert_problem
from tests.conftest import set_quotas

from stackgate.block_storage import public as volume_service
from stackgate.block_storage.repository import BlockStorageUoW
from stackgate.bootstrap import Container
from stackgate.core.clock import utcnow
from stackgate.core.context import DEFAULT_PROJECT_ID, RequestContext
from stackgate.core.ids import new_id
from stackgate.core.operations import OperationRepository
from stackgate.providers.simulator import SimulatorProvider

SETTLED = {"available", "error", "in-use", "reserved"}


async def create_volume(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/volumes", json={"size": 1, **fields})
    assert response.status_code == 202, response.text
    body = dict(response.json())
    assert response.headers["location"] == f"/api/v1/volumes/{body['id']}"
    return body


async def settle(client: httpx.AsyncClient, container: Container, volume_id: str) -> httpx.Response:
    """Drive the worker until the volume is settled (or gone); the last GET."""
    for _ in range(200):
        await container.runner.drain()
        response = await client.get(f"/api/v1/volumes/{volume_id}")
        if response.status_code == 404 or response.json()["status"] in SETTLED:
            return response
        await asyncio.sleep(0.02)
    raise AssertionError(f"volume {volume_id} did not settle: {response.text}")


async def available_volume(
    client: httpx.AsyncClient, container: Container, **fields: Any
) -> dict[str, Any]:
    accepted = await create_volume(client, **fields)
    body = dict((await settle(client, container, accepted["id"])).json())
    assert body["status"] == "available", body
    return body


async def volume_count(client: httpx.AsyncClient) -> int:
    return int((await client.get("/api/v1/volumes")).json()["total"])


async def set_status(container: Container, volume_id: str, status: str) -> None:
    """Put a volume in a state the compute side would (attach belongs to compute)."""
    async with container.sessionmaker() as session, session.begin():
        volume = await volume_service._row(session, volume_id)
        volume.status = status
        if status != "available":
            volume.server_id = new_id()


class TestCreate:
    async def test_creating_then_available(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        accepted = await create_volume(client, name="data", description="scratch")
        assert accepted["status"] == "creating"
        assert accepted["size"] == 1
        assert accepted["volume_type"] == "__DEFAULT__"
        assert accepted["bootable"] is False
        assert accepted["attachments"] == []
        built = (await settle(client, container, accepted["id"])).json()
        assert built["status"] == "available"
        assert (built["name"], built["description"]) == ("data", "scratch")
        assert built["error_message"] is None
        async with container.sessionmaker() as session:
            ops = await OperationRepository(session).list_for_resource(accepted["id"])
        assert [(o.resource_type, o.action, o.result) for o in ops] == [
            ("volume", "create", "Success")
        ]

    async def test_from_an_image_is_bootable(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        image = (await client.get("/api/v1/images", params={"name": "cirros-0.6"})).json()
        image_id = image["items"][0]["id"]
        built = await available_volume(client, container, size=2, image="cirros-0.6")
        assert built["bootable"] is True
        assert built["image_id"] == image_id

    async def test_with_a_volume_type(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        built = await available_volume(client, container, volume_type="ssd")
        assert built["volume_type"] == "ssd"

    async def test_volume_types_are_listed(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/volume-types")
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert {t["name"] for t in items} >= {"__DEFAULT__", "lvmdriver-1", "ssd"}
        assert [t["name"] for t in items if t["is_default"]] == ["__DEFAULT__"]

    @pytest.mark.parametrize(
        ("body", "status", "code"),
        [
            ({"size": 0}, 422, None),
            ({"size": -1}, 422, None),
            ({"size": "1"}, 422, None),
            ({}, 422, None),
            ({"size": 1, "color": "red"}, 422, None),
            ({"size": 1, "volume_type": "gold"}, 422, "unknown_volume_type"),
            ({"size": 1, "image": "no-such-image"}, 422, "unknown_image"),
        ],
    )
    async def test_invalid_requests_change_nothing(
        self, client: httpx.AsyncClient, body: dict[str, Any], status: int, code: str | None
    ) -> None:
        response = await client.post("/api/v1/volumes", json=body)
        assert_problem(response, status, code)
        assert await volume_count(client) == 0

    async def test_too_small_for_the_image(
        self, client: httpx.AsyncClient, admin_client: httpx.AsyncClient
    ) -> None:
        image = await admin_client.post(
            "/api/v1/images", json={"name": "big-disk", "min_disk_gb": 20, "visibility": "public"}
        )
        assert image.status_code == 201, image.text
        response = await client.post("/api/v1/volumes", json={"size": 10, "image": "big-disk"})
        body = assert_problem(response, 422, "volume_too_small")
        assert "20" in body["detail"]
        assert await volume_count(client) == 0

    async def test_idempotency_key_replays(self, client: httpx.AsyncClient) -> None:
        headers = {"Idempotency-Key": "vol-1"}
        first = await client.post("/api/v1/volumes", json={"size": 1}, headers=headers)
        again = await client.post("/api/v1/volumes", json={"size": 1}, headers=headers)
        assert first.status_code == again.status_code == 202
        assert again.json()["id"] == first.json()["id"]
        assert again.headers["idempotent-replayed"] == "true"
        assert await volume_count(client) == 1

    async def test_a_failed_create_ends_in_error(
        self, client: httpx.AsyncClient, container: Container, provider: SimulatorProvider
    ) -> None:
        provider.fail_call("create_volume")
        accepted = await create_volume(client)
        failed = (await settle(client, container, accepted["id"])).json()
        assert failed["status"] == "error"
        assert "injected failure" in failed["error_message"]
        # An error volume can be deleted.
        assert (await client.delete(f"/api/v1/volumes/{accepted['id']}")).status_code == 202
        assert (await settle(client, container, accepted["id"])).status_code == 404

    async def test_a_volume_the_cloud_fails_to_build_ends_in_error(
        self, client: httpx.AsyncClient, container: Container, provider: SimulatorProvider
    ) -> None:
        provider.fail_next()
        accepted = await create_volume(client)
        failed = (await settle(client, container, accepted["id"])).json()
        assert failed["status"] == "error"
        assert failed["error_message"]


class TestListAndUpdate:
    async def test_filters_and_paging(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        for i in range(5):
            await available_volume(client, container, name=f"disk-{i}")
        await create_volume(client, name="fresh")  # still creating: no drain
        listed = (await client.get("/api/v1/volumes", params={"per_page": 2})).json()
        assert listed["total"] == 6 and len(listed["items"]) == 2
        assert listed["items"][0]["name"] == "fresh"  # newest first
        named = (await client.get("/api/v1/volumes", params={"name": "disk-3"})).json()
        assert [v["name"] for v in named["items"]] == ["disk-3"]
        creating = (await client.get("/api/v1/volumes", params={"status": "creating"})).json()
        assert [v["name"] for v in creating["items"]] == ["fresh"]
        seen: list[str] = []
        params: dict[str, Any] = {"limit": 4, "sort": "name"}
        while True:
            page = (await client.get("/api/v1/volumes", params=params)).json()
            seen += [v["name"] for v in page["items"]]
            if not page["next_cursor"]:
                break
            params["cursor"] = page["next_cursor"]
        assert seen == sorted(seen) and len(seen) == 6
        bad = await client.get("/api/v1/volumes", params={"status": "melted"})
        assert bad.status_code in (400, 422)

    async def test_rename_with_version(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        volume = await available_volume(client, container, name="old")
        path = f"/api/v1/volumes/{volume['id']}"
        renamed = await client.patch(path, json={"name": "new", "version": volume["version"]})
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["name"] == "new"
        assert renamed.json()["version"] == volume["version"] + 1
        stale = await client.patch(path, json={"name": "lost", "version": volume["version"]})
        assert_problem(stale, 409, "concurrent_update")
        assert (await client.get(path)).json()["name"] == "new"
        assert (await client.patch(path, json={})).status_code == 422


class TestDelete:
    async def test_available_volume_is_deleted(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        volume = await available_volume(client, container)
        response = await client.delete(f"/api/v1/volumes/{volume['id']}")
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "deleting"
        gone = await settle(client, container, volume["id"])
        assert_problem(gone, 404, "not_found")
        assert await volume_count(client) == 0

    @pytest.mark.parametrize("status", ["in-use", "reserved", "attaching", "creating"])
    async def test_busy_or_attached_volume_is_refused(
        self, client: httpx.AsyncClient, container: Container, status: str
    ) -> None:
        volume = await available_volume(client, container)
        await set_status(container, volume["id"], status)
        response = await client.delete(f"/api/v1/volumes/{volume['id']}")
        body = assert_problem(response, 409, "invalid_volume_state")
        assert status in body["detail"] and body["current_status"] == status
        assert (await client.get(f"/api/v1/volumes/{volume['id']}")).json()["status"] == status

    async def test_reserved_through_the_compute_functions(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        volume = await available_volume(client, container)
        server_id = new_id()
        async with BlockStorageUoW(container.sessionmaker) as uow:
            ctx = _ctx()
            await volume_service.reserve_volumes(
                uow, ctx, [volume["id"]], server_id, now=container.clock.now()
            )
            await uow.commit()
        shown = (await client.get(f"/api/v1/volumes/{volume['id']}")).json()
        assert shown["status"] == "reserved"
        assert shown["attachments"] == [
            {"server_id": server_id, "device": None, "attached_at": None}
        ]
        assert_problem(await client.delete(f"/api/v1/volumes/{volume['id']}"), 409)
        async with container.sessionmaker() as session, session.begin():
            await volume_service.mark_attaching(session, volume["id"], now=container.clock.now())
        async with container.sessionmaker() as session, session.begin():
            await volume_service.mark_attached(
                session, volume["id"], server_id, "/dev/vdb", utcnow()
            )
        attached = (await client.get(f"/api/v1/volumes/{volume['id']}")).json()
        assert attached["status"] == "in-use"
        assert attached["attachments"][0]["device"] == "/dev/vdb"
        assert attached["attachments"][0]["attached_at"] is not None
        assert_problem(await client.delete(f"/api/v1/volumes/{volume['id']}"), 409)
        async with container.sessionmaker() as session:
            of = await volume_service.volumes_of_servers(session, [server_id])
            assert [v.id for v in of[server_id]] == [volume["id"]]
        async with container.sessionmaker() as session, session.begin():
            await volume_service.mark_detaching(session, volume["id"], now=container.clock.now())
        async with container.sessionmaker() as session, session.begin():
            await volume_service.mark_detached(session, volume["id"], now=container.clock.now())
        detached = (await client.get(f"/api/v1/volumes/{volume['id']}")).json()
        assert (detached["status"], detached["attachments"]) == ("available", [])
        assert (await client.delete(f"/api/v1/volumes/{volume['id']}")).status_code == 202

    async def test_unknown_volume_is_404(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.delete(f"/api/v1/volumes/{new_id()}"), 404, "not_found")


def _ctx() -> RequestContext:
    return RequestContext(project_id=DEFAULT_PROJECT_ID, user_id=None)


class TestExtend:
    async def test_grows_an_available_volume(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        volume = await available_volume(client, container, size=2)
        path = f"/api/v1/volumes/{volume['id']}/actions/extend"
        response = await client.post(path, json={"new_size": 5})
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "extending"
        grown = (await settle(client, container, volume["id"])).json()
        assert (grown["status"], grown["size"]) == ("available", 5)

    @pytest.mark.parametrize("new_size", [1, 2])
    async def test_never_shrinks_or_stays(
        self, client: httpx.AsyncClient, container: Container, new_size: int
    ) -> None:
        volume = await available_volume(client, container, size=2)
        response = await client.post(
            f"/api/v1/volumes/{volume['id']}/actions/extend", json={"new_size": new_size}
        )
        assert_problem(response, 422, "invalid_new_size")

    async def test_only_when_available(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        volume = await available_volume(client, container)
        await set_status(container, volume["id"], "in-use")
        response = await client.post(
            f"/api/v1/volumes/{volume['id']}/actions/extend", json={"new_size": 3}
        )
        assert_problem(response, 409, "invalid_volume_state")

    async def test_growth_counts_against_gigabytes(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        volume = await available_volume(client, container, size=4)
        await set_quotas(container, DEFAULT_PROJECT_ID, gigabytes=10)
        path = f"/api/v1/volumes/{volume['id']}/actions/extend"
        body = assert_problem(await client.post(path, json={"new_size": 11}), 403)
        assert body["code"] == "quota_exceeded" and body["resource"] == "gigabytes"
        assert (await client.post(path, json={"new_size": 10})).status_code == 202
        # While the extend runs, its growth is held: another volume cannot take it.
        assert_problem(await client.post("/api/v1/volumes", json={"size": 1}), 403)


class TestQuotas:
    async def test_volumes_and_gigabytes(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        await set_quotas(container, DEFAULT_PROJECT_ID, volumes=2, gigabytes=5)
        await create_volume(client, size=2)
        big = assert_problem(await client.post("/api/v1/volumes", json={"size": 4}), 403)
        assert (big["code"], big["resource"]) == ("quota_exceeded", "gigabytes")
        await create_volume(client, size=3)
        many = assert_problem(await client.post("/api/v1/volumes", json={"size": 1}), 403)
        assert (many["code"], many["resource"]) == ("quota_exceeded", "volumes")
        assert await volume_count(client) == 2
        usage = (await client.get(f"/api/v1/projects/{DEFAULT_PROJECT_ID}/quotas")).json()
        assert usage["quotas"]["volumes"]["in_use"] == 2
        assert usage["quotas"]["gigabytes"]["in_use"] == 5

    @pytest.mark.dialects
    async def test_parallel_creates_stop_exactly_at_the_limit(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        await set_quotas(container, DEFAULT_PROJECT_ID, volumes=3)
        responses = await asyncio.gather(
            *(client.post("/api/v1/volumes", json={"size": 1}) for _ in range(8))
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [202] * 3 + [403] * 5, [r.text for r in responses]
        for refused in (r for r in responses if r.status_code == 403):
            assert refused.json()["code"] == "quota_exceeded"
        assert await volume_count(client) == 3


class TestTenancy:
    async def test_another_projects_volume_is_not_found(
        self,
        client: httpx.AsyncClient,
        other_client: httpx.AsyncClient,
        admin_client: httpx.AsyncClient,
        container: Container,
    ) -> None:
        volume = await available_volume(client, container)
        path = f"/api/v1/volumes/{volume['id']}"
        for call in (
            other_client.get(path),
            other_client.patch(path, json={"name": "stolen"}),
            other_client.delete(path),
            other_client.post(f"{path}/actions/extend", json={"new_size": 9}),
        ):
            assert_problem(await call, 404, "not_found")
        assert (await other_client.get("/api/v1/volumes")).json()["total"] == 0
        snap = await other_client.post("/api/v1/volume-snapshots", json={"volume_id": volume["id"]})
        assert snap.status_code == 400, snap.text
        assert (await client.get(path)).json() == volume
        # The cloud admin reaches every project's volume.
        assert (await admin_client.get(path)).status_code == 200

"""Idempotency-Key on POST /api/v1/vms (reference/reliability.md section 5, I1-I12)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from tests.builders import assert_problem, server_count

from stackgate.bootstrap import Container

pytestmark = pytest.mark.dialects

BODY = {"name": "web-01", "flavor": "m1.small", "image": "cirros-0.6"}


async def post(
    client: httpx.AsyncClient, key: str | None, body: Any = None, **headers: str
) -> httpx.Response:
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post("/api/v1/vms", json=BODY if body is None else body, headers=headers)


class TestReplay:
    async def test_same_key_same_body_replays_the_answer(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        first = await post(client, "key-0001")
        second = await post(client, "key-0001")
        assert (first.status_code, second.status_code) == (202, 202)
        assert second.json() == first.json()
        assert second.headers["location"] == first.headers["location"]
        assert second.headers.get("idempotent-replayed") == "true"
        assert "idempotent-replayed" not in first.headers
        assert await server_count(client) == 1

    async def test_replay_after_the_server_was_built(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        first = await post(client, "key-0002")
        await container.runner.drain()
        second = await post(client, "key-0002")
        assert second.status_code == first.status_code
        assert second.json()["id"] == first.json()["id"]
        assert await server_count(client) == 1

    async def test_key_order_in_the_body_does_not_matter(self, client: httpx.AsyncClient) -> None:
        first = await post(
            client, "key-0003", {"name": "a", "flavor": "m1.tiny", "image": "cirros-0.6"}
        )
        reordered = {"image": "cirros-0.6", "flavor": "m1.tiny", "name": "a"}
        second = await post(client, "key-0003", reordered)
        assert second.json()["id"] == first.json()["id"]

    async def test_quoted_and_bare_keys_are_the_same_key(self, client: httpx.AsyncClient) -> None:
        first = await post(client, "key-0004")
        second = await post(client, '"key-0004"')
        assert second.json()["id"] == first.json()["id"]
        assert await server_count(client) == 1

    async def test_same_key_different_body_is_422(self, client: httpx.AsyncClient) -> None:
        first = await post(client, "key-0005")
        response = await post(client, "key-0005", {**BODY, "name": "web-02"})
        problem = assert_problem(response, 422, "idempotency_key_reused")
        assert "Idempotency-Key" in problem["detail"]
        assert await server_count(client) == 1
        listed = (await client.get("/api/v1/vms")).json()["items"]
        assert [s["id"] for s in listed] == [first.json()["id"]]

    async def test_different_keys_make_two_servers(self, client: httpx.AsyncClient) -> None:
        first = await post(client, "key-0006")
        second = await post(client, "key-0007")
        assert first.json()["id"] != second.json()["id"]
        assert await server_count(client) == 2

    async def test_no_key_makes_a_new_server_every_time(self, client: httpx.AsyncClient) -> None:
        await post(client, None)
        await post(client, None)
        assert await server_count(client) == 2

    async def test_a_refused_request_does_not_burn_the_key(self, client: httpx.AsyncClient) -> None:
        bad = await post(client, "key-0008", {**BODY, "flavor": "m9.huge"})
        assert_problem(bad, 400, "unknown_reference")
        good = await post(client, "key-0008", {**BODY, "flavor": "m1.tiny"})
        assert good.status_code == 202, good.text
        assert await server_count(client) == 1

    async def test_a_deleted_server_is_still_replayed(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        first = await post(client, "key-0009")
        await client.delete(f"/api/v1/vms/{first.json()['id']}")
        await container.runner.drain()
        second = await post(client, "key-0009")
        assert second.json()["id"] == first.json()["id"]
        assert await server_count(client) == 0


class TestKeyFormat:
    @pytest.mark.parametrize("key", ["", '""', "x" * 256, "tab\there"])
    async def test_bad_keys_are_400(self, client: httpx.AsyncClient, key: str) -> None:
        problem = assert_problem(await post(client, key), 400)
        assert problem["field"] == "Idempotency-Key"
        assert await server_count(client) == 0

    async def test_overlong_header_is_refused(self, client: httpx.AsyncClient) -> None:
        response = await post(client, "k" * 400)
        assert response.status_code in (400, 422), response.text
        assert await server_count(client) == 0


class TestConcurrency:
    async def test_ten_concurrent_requests_with_one_key_make_one_server(
        self, client: httpx.AsyncClient
    ) -> None:
        responses = await asyncio.gather(*(post(client, "key-race") for _ in range(10)))
        assert all(r.status_code == 202 for r in responses), [r.text for r in responses]
        ids = {r.json()["id"] for r in responses}
        assert len(ids) == 1
        assert await server_count(client) == 1
        listed = (await client.get("/api/v1/vms")).json()["items"]
        assert [s["id"] for s in listed] == list(ids)

    async def test_one_create_operation_for_the_winner(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        responses = await asyncio.gather(*(post(client, "key-race-2") for _ in range(10)))
        server_id = responses[0].json()["id"]
        await container.runner.drain()
        actions = (await client.get(f"/api/v1/vms/{server_id}/actions")).json()["items"]
        assert [a["action"] for a in actions] == ["create"]
        assert (await client.get(f"/api/v1/vms/{server_id}")).json()["status"] == "ACTIVE"

"""PATCH /api/v1/vms/{id}: name, description, metadata; optimistic concurrency on `version`."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest
from tests.builders import act, assert_problem, create_server, server_in

from stackgate.bootstrap import Container

pytestmark = pytest.mark.dialects


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def patch(client: httpx.AsyncClient, server_id: str, body: Any) -> httpx.Response:
    return await client.patch(f"/api/v1/vms/{server_id}", json=body)


class TestUpdate:
    async def test_rename(self, client: httpx.AsyncClient, container: Container) -> None:
        server = await server_in(client, container, "ACTIVE")
        response = await patch(client, server["id"], {"name": "renamed"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["name"] == "renamed"
        assert body["version"] == server["version"] + 1
        assert when(body["updated_at"]) >= when(server["updated_at"])
        assert body["status"] == "ACTIVE"
        assert (await client.get(f"/api/v1/vms/{server['id']}")).json() == body

    async def test_description_and_metadata(self, client: httpx.AsyncClient) -> None:
        server = await create_server(client, metadata={"old": "1", "keep": "x"})
        body = (
            await patch(
                client, server["id"], {"description": "about it", "metadata": {"keep": "y"}}
            )
        ).json()
        assert body["description"] == "about it"
        assert body["metadata"] == {"keep": "y"}  # replaced, not merged
        assert body["name"] == server["name"]

    async def test_clear_description_and_metadata(self, client: httpx.AsyncClient) -> None:
        server = await create_server(client, description="d", metadata={"a": "b"})
        body = (await patch(client, server["id"], {"description": None, "metadata": {}})).json()
        assert body["description"] is None
        assert body["metadata"] == {}

    async def test_update_while_a_task_runs(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        await act(client, server["id"], "stop")
        response = await patch(client, server["id"], {"name": "busy"})
        assert response.status_code == 200, response.text
        assert response.json()["task_state"] == "powering-off"
        await container.runner.drain()
        done = (await client.get(f"/api/v1/vms/{server['id']}")).json()
        assert (done["name"], done["status"]) == ("busy", "SHUTOFF")


class TestVersion:
    async def test_matching_version_is_accepted(self, client: httpx.AsyncClient) -> None:
        server = await create_server(client)
        response = await patch(client, server["id"], {"name": "a", "version": server["version"]})
        assert response.status_code == 200, response.text

    async def test_stale_version_is_409(self, client: httpx.AsyncClient) -> None:
        server = await create_server(client)
        await patch(client, server["id"], {"name": "first"})
        response = await patch(
            client, server["id"], {"name": "second", "version": server["version"]}
        )
        problem = assert_problem(response, 409, "concurrent_update")
        assert str(server["version"]) in problem["detail"]
        assert (await client.get(f"/api/v1/vms/{server['id']}")).json()["name"] == "first"

    async def test_worker_progress_makes_a_read_version_stale(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await create_server(client)
        await container.runner.drain()
        response = await patch(client, server["id"], {"name": "x", "version": server["version"]})
        assert_problem(response, 409, "concurrent_update")

    async def test_concurrent_writers_with_one_version_one_wins(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        responses = await asyncio.gather(
            *(
                patch(client, server["id"], {"name": f"n{i}", "version": server["version"]})
                for i in range(5)
            )
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 409, 409, 409, 409], [r.text for r in responses]
        winner = next(r.json() for r in responses if r.status_code == 200)
        shown = (await client.get(f"/api/v1/vms/{server['id']}")).json()
        assert shown["name"] == winner["name"]
        assert shown["version"] == server["version"] + 1


class TestRefused:
    @pytest.mark.parametrize("body", [{}, {"version": 1}])
    async def test_nothing_to_change_is_422(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        server = await create_server(client)
        problem = assert_problem(await patch(client, server["id"], body), 422)
        assert "name" in problem["detail"]

    @pytest.mark.parametrize(
        "body",
        [
            {"name": "x", "status": "ACTIVE"},
            {"flavor": "m1.large"},
            {"locked": True},
            {"image": "debian-12"},
            {"id": "00000000-0000-0000-0000-000000000000"},
        ],
    )
    async def test_unknown_or_read_only_fields_are_422(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        server = await create_server(client)
        assert_problem(await patch(client, server["id"], body), 422, "validation_error")
        assert (await client.get(f"/api/v1/vms/{server['id']}")).json() == server

    @pytest.mark.parametrize(
        "body",
        [
            {"name": ""},
            {"name": "  "},
            {"name": "x" * 256},
            {"name": "a\x00b"},
            {"name": 5},
            {"metadata": {"k": 1}},
            {"metadata": {f"k{i}": "v" for i in range(129)}},
            {"description": "d" * 1001},
            {"name": "ok", "version": 0},
            {"name": "ok", "version": "one"},
        ],
    )
    async def test_bad_values_are_422(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        server = await create_server(client)
        assert_problem(await patch(client, server["id"], body), 422, "validation_error")
        assert (await client.get(f"/api/v1/vms/{server['id']}")).json() == server

    async def test_malformed_json_is_400(self, client: httpx.AsyncClient) -> None:
        server = await create_server(client)
        response = await client.patch(
            f"/api/v1/vms/{server['id']}",
            content=b'{"name": ',
            headers={"content-type": "application/json"},
        )
        assert_problem(response, 400, "malformed_json")

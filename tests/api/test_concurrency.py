"""Concurrent writers on one server: optimistic concurrency lets exactly one win, the others
get a 409, and nothing is half-applied (DESIGN.md 4)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from tests.builders import assert_problem, gone, server_in, settle

from stackgate.bootstrap import Container

pytestmark = pytest.mark.dialects

CONFLICT_CODES = {"concurrent_update", "invalid_state_transition"}


async def log_of(client: httpx.AsyncClient, server_id: str) -> list[str]:
    response = await client.get(f"/api/v1/vms/{server_id}/actions")
    return [entry["action"] for entry in response.json()["items"]]


class TestConcurrentActions:
    async def test_ten_concurrent_stops_one_wins(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        responses = await asyncio.gather(
            *(client.post(f"/api/v1/vms/{server['id']}/actions/stop") for _ in range(10))
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [202] + [409] * 9, [r.text for r in responses]
        for response in responses:
            if response.status_code == 409:
                assert assert_problem(response, 409)["code"] in CONFLICT_CODES
        await container.runner.drain()
        assert await log_of(client, server["id"]) == ["stop", "create"]
        assert (await client.get(f"/api/v1/vms/{server['id']}")).json()["status"] == "SHUTOFF"

    async def test_different_actions_at_once_one_wins(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        actions = ["stop", "pause", "suspend", "reboot", "shelve"] * 2
        responses = await asyncio.gather(
            *(client.post(f"/api/v1/vms/{server['id']}/actions/{a}") for a in actions)
        )
        winners = [a for a, r in zip(actions, responses, strict=True) if r.status_code == 202]
        assert len(winners) == 1, [r.text for r in responses]
        assert all(r.status_code in (202, 409) for r in responses)
        done = await settle(client, container, server["id"])
        assert done["task_state"] is None
        expected = {
            "stop": "SHUTOFF",
            "pause": "PAUSED",
            "suspend": "SUSPENDED",
            "reboot": "ACTIVE",
            "shelve": "SHELVED_OFFLOADED",
        }
        assert done["status"] == expected[winners[0]]
        assert await log_of(client, server["id"]) == [winners[0], "create"]

    async def test_concurrent_deletes_delete_once(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        responses = await asyncio.gather(
            *(client.delete(f"/api/v1/vms/{server['id']}") for _ in range(5))
        )
        assert any(r.status_code == 202 for r in responses)
        for response in responses:
            if response.status_code != 202:
                assert assert_problem(response, 409)["code"] in CONFLICT_CODES
        assert (await gone(client, container, server["id"]))["status"] == "DELETED"
        assert await log_of(client, server["id"]) == ["delete", "create"]

    async def test_rename_and_action_at_once_both_land_or_one_retries(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        rename, stop = await asyncio.gather(
            client.patch(f"/api/v1/vms/{server['id']}", json={"name": "renamed"}),
            client.post(f"/api/v1/vms/{server['id']}/actions/stop"),
        )
        assert {rename.status_code, stop.status_code} <= {200, 202, 409}
        done = await settle(client, container, server["id"])
        assert (done["name"] == "renamed") == (rename.status_code == 200)
        assert (done["status"] == "SHUTOFF") == (stop.status_code == 202)

    async def test_the_worker_and_a_request_do_not_lose_updates(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        assert (await client.post(f"/api/v1/vms/{server['id']}/actions/stop")).status_code == 202
        _, renamed = await asyncio.gather(
            container.runner.drain(),
            client.patch(f"/api/v1/vms/{server['id']}", json={"metadata": {"k": "v"}}),
        )
        await container.runner.drain()
        done = (await client.get(f"/api/v1/vms/{server['id']}")).json()
        assert done["status"] == "SHUTOFF"
        assert done["task_state"] is None
        if renamed.status_code == 200:
            assert done["metadata"] == {"k": "v"}
        else:
            assert_problem(renamed, 409, "concurrent_update")

"""`Prefer: wait=N` (RFC 7240): wait for the end state with the worker running, or give up."""

from __future__ import annotations

import time

import httpx
from tests.builders import act, active_server, running_worker

from stackgate.bootstrap import Container

BODY = {"name": "web-01", "flavor": "m1.small", "image": "cirros-0.6"}


class TestCreate:
    async def test_waits_for_active_with_the_worker_running(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        async with running_worker(container):
            response = await client.post("/api/v1/vms", json=BODY, headers={"Prefer": "wait=5"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "ACTIVE"
        assert body["task_state"] is None
        assert body["ip_address"]
        assert response.headers["preference-applied"] == "wait=5"
        assert response.headers["location"] == f"/api/v1/vms/{body['id']}"

    async def test_gives_up_without_a_worker(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        started = time.monotonic()
        response = await client.post("/api/v1/vms", json=BODY, headers={"Prefer": "wait=0.3"})
        elapsed = time.monotonic() - started
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "BUILD"
        assert response.headers["preference-applied"] == "wait=0.3"
        assert 0.3 <= elapsed < 5
        # Nothing was lost by waiting: the worker still builds it afterwards.
        await container.runner.drain()
        shown = (await client.get(response.headers["location"])).json()
        assert shown["status"] == "ACTIVE"

    async def test_without_prefer_answers_at_once(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        async with running_worker(container):
            response = await client.post("/api/v1/vms", json=BODY)
        assert response.status_code == 202
        assert "preference-applied" not in response.headers

    async def test_other_preferences_are_ignored(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        for prefer in ("return=minimal", "wait=abc", "wait=-3", "respond-async"):
            response = await client.post("/api/v1/vms", json=BODY, headers={"Prefer": prefer})
            assert response.status_code == 202, (prefer, response.text)
            assert response.json()["status"] == "BUILD"

    async def test_wait_among_other_preferences(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        async with running_worker(container):
            response = await client.post(
                "/api/v1/vms", json=BODY, headers={"Prefer": "return=representation, wait=5"}
            )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ACTIVE"


class TestActions:
    async def test_stop_waits_for_shutoff(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await active_server(client, container)
        async with running_worker(container):
            response = await client.post(
                f"/api/v1/vms/{server['id']}/actions/stop", headers={"Prefer": "wait=5"}
            )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "SHUTOFF"
        assert response.json()["task_state"] is None

    async def test_reboot_without_a_worker_is_still_rebooting(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await active_server(client, container)
        response = await client.post(
            f"/api/v1/vms/{server['id']}/actions/reboot", headers={"Prefer": "wait=0.2"}
        )
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "REBOOT"

    async def test_delete_waits_for_deleted(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await active_server(client, container)
        async with running_worker(container):
            response = await client.delete(
                f"/api/v1/vms/{server['id']}", headers={"Prefer": "wait=5"}
            )
        assert response.status_code == 200, response.text
        # The request that deleted it is answered with its end; then the server is gone.
        assert response.json()["status"] == "DELETED"
        assert (await client.get(f"/api/v1/vms/{server['id']}")).status_code == 404

    async def test_refused_action_does_not_wait(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await active_server(client, container)
        started = time.monotonic()
        response = await act(client, server["id"], "start")
        assert response.status_code == 409
        response = await client.post(
            f"/api/v1/vms/{server['id']}/actions/start", headers={"Prefer": "wait=10"}
        )
        assert response.status_code == 409
        assert time.monotonic() - started < 5

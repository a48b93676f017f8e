"""What the simulated cloud does, seen through the API: a full cloud, injected failures, and
what an ERROR server still allows. Each class builds its own cloud by overriding `settings`."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from tests.builders import (
    act,
    active_server,
    assert_problem,
    create_server,
    gone,
    running_worker,
    settle,
)
from tests.conftest import make_settings

from stackgate.bootstrap import Container
from stackgate.config import Settings
from stackgate.providers.simulator import SimulatorProvider

NO_VALID_HOST = "No valid host was found"


class TestFullCloud:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return make_settings(database_url, sim_hypervisors=1, sim_hypervisor_vcpus=2)

    async def test_no_valid_host_puts_the_server_in_error(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        first = await active_server(client, container, name="fits", flavor="m1.medium")
        assert first["ip_address"]
        late = await create_server(client, name="no-room", flavor="m1.small")
        assert late["status"] == "BUILD"
        failed = await settle(client, container, late["id"])
        assert failed["status"] == "ERROR"
        assert failed["vm_state"] == "error"
        assert failed["task_state"] is None
        assert NO_VALID_HOST in failed["fault"]["message"]
        assert failed["fault"]["code"] == 500
        assert failed["launched_at"] is None
        assert failed["ip_address"] is None
        actions = (await client.get(f"/api/v1/vms/{late['id']}/actions")).json()["items"]
        assert (actions[0]["action"], actions[0]["result"]) == ("create", "Error")

    async def test_a_flavor_bigger_than_any_host(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await create_server(client, flavor="m1.large")
        failed = await settle(client, container, server["id"])
        assert failed["status"] == "ERROR"
        assert NO_VALID_HOST in failed["fault"]["message"]

    async def test_deleting_frees_room(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        first = await active_server(client, container, flavor="m1.medium")
        assert (await client.delete(f"/api/v1/vms/{first['id']}")).status_code == 202
        assert (await gone(client, container, first["id"]))["status"] == "DELETED"
        second = await active_server(client, container, flavor="m1.medium")
        assert second["status"] == "ACTIVE"

    async def test_resize_beyond_the_host_keeps_the_server(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await active_server(client, container, flavor="m1.small")
        assert (await act(client, server["id"], "resize", {"flavor": "m1.large"})).is_success
        after = await settle(client, container, server["id"])
        # Nova's conductor rolls a NoValidHost resize back: the server is as it was.
        assert after["status"] == "ACTIVE"
        assert after["flavor"]["name"] == "m1.small"
        actions = (await client.get(f"/api/v1/vms/{server['id']}/actions")).json()["items"]
        assert (actions[0]["action"], actions[0]["result"]) == ("resize", "Error")


class TestInjectedFailures:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return make_settings(database_url, sim_failure_rate=1)

    async def test_build_fails_into_error_with_a_fault(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        before = datetime.now().astimezone()
        server = await create_server(client)
        failed = await settle(client, container, server["id"])
        assert failed["status"] == "ERROR"
        assert failed["power_state"] == 0
        fault = failed["fault"]
        assert set(fault) == {"code", "message", "created"}
        assert isinstance(fault["code"], int)
        assert fault["code"] >= 400
        assert fault["message"]
        assert fault["created"].endswith("Z")
        created = datetime.fromisoformat(fault["created"].replace("Z", "+00:00"))
        assert (created - before).total_seconds() > -60

    async def test_prefer_wait_returns_the_error(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        body = {"name": "w", "flavor": "m1.small", "image": "cirros-0.6"}
        async with running_worker(container):
            response = await client.post("/api/v1/vms", json=body, headers={"Prefer": "wait=5"})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ERROR"
        assert response.json()["fault"]["message"]

    async def test_a_server_that_never_launched_can_only_be_deleted(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await create_server(client)
        await settle(client, container, server["id"])
        refused = [
            ("stop", None),
            ("start", None),
            ("reboot", {"type": "HARD"}),
            ("reboot", None),
            ("rebuild", {"image": "debian-12"}),
            ("resize", {"flavor": "m1.medium"}),
            ("shelve", None),
        ]
        for action, body in refused:
            problem = assert_problem(
                await act(client, server["id"], action, body), 409, "invalid_state_transition"
            )
            assert problem["current_status"] == "ERROR"
            assert set(problem["allowed_actions"]) <= {"delete", "lock", "unlock"}
            assert "delete" in problem["allowed_actions"]
        snapshot = await client.post(f"/api/v1/vms/{server['id']}/snapshots", json={"name": "s"})
        assert_problem(snapshot, 409, "invalid_state_transition")
        assert (await client.delete(f"/api/v1/vms/{server['id']}")).status_code == 202
        assert (await gone(client, container, server["id"]))["status"] == "DELETED"


class TestErrorAfterLaunch:
    async def test_a_server_that_launched_may_stop_and_rebuild(
        self,
        client: httpx.AsyncClient,
        container: Container,
        provider: SimulatorProvider,
    ) -> None:
        server = await active_server(client, container)
        provider.fail_next()
        assert (await act(client, server["id"], "reboot")).status_code == 202
        failed = await settle(client, container, server["id"])
        assert failed["status"] == "ERROR"
        assert failed["fault"]["message"]
        assert failed["launched_at"] == server["launched_at"]
        assert (await act(client, server["id"], "rebuild")).status_code == 202
        rebuilt = await settle(client, container, server["id"])
        assert rebuilt["status"] == "ACTIVE"
        assert rebuilt["fault"] is None

    async def test_hard_reboot_recovers_an_error_server(
        self,
        client: httpx.AsyncClient,
        container: Container,
        provider: SimulatorProvider,
    ) -> None:
        server = await active_server(client, container)
        provider.fail_next()
        await act(client, server["id"], "suspend")
        assert (await settle(client, container, server["id"]))["status"] == "ERROR"
        assert_problem(await act(client, server["id"], "reboot"), 409, "invalid_state_transition")
        response = await act(client, server["id"], "reboot", {"type": "HARD"})
        assert response.status_code == 202, response.text
        recovered = await settle(client, container, server["id"])
        assert (recovered["status"], recovered["power_state"]) == ("ACTIVE", 1)
        assert recovered["fault"] is None

    async def test_stop_from_error(
        self,
        client: httpx.AsyncClient,
        container: Container,
        provider: SimulatorProvider,
    ) -> None:
        server = await active_server(client, container)
        provider.fail_next()
        await act(client, server["id"], "pause")
        assert (await settle(client, container, server["id"]))["status"] == "ERROR"
        response = await act(client, server["id"], "stop")
        assert response.status_code == 202, response.text
        stopped = await settle(client, container, server["id"])
        assert stopped["status"] == "SHUTOFF"

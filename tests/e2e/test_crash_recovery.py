"""A crash loses nothing (DESIGN.md 1): a server whose process is SIGKILLed during BUILD still
ends ACTIVE (or ERROR past its deadline) once a process runs again on the same databases."""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Launcher, api, cloud_servers, eventually

pytestmark = pytest.mark.e2e
SERVER = {"name": "web-01", "flavor": "m1.small", "image": "cirros-0.6"}


async def show(http: httpx.AsyncClient, server_id: str) -> dict[str, Any]:
    response = await http.get(f"/api/v1/vms/{server_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def create(base_url: str) -> dict[str, Any]:
    async with api(base_url) as http:
        response = await http.post("/api/v1/vms", json=SERVER)
    assert response.status_code == 202, response.text
    return dict(response.json())


async def settled(base_url: str, server_id: str, *, within: float) -> dict[str, Any]:
    """The server once it has left BUILD."""
    async with api(base_url) as http:

        async def probe() -> dict[str, Any] | None:
            body = await show(http, server_id)
            return None if body["status"] == "BUILD" else body

        return await eventually(probe, within=within)


async def handed_to_the_cloud(base_url: str, server_id: str) -> None:
    """Wait until the worker has sent the create to the cloud (the task moved on)."""
    async with api(base_url) as http:

        async def probe() -> bool:
            body = await show(http, server_id)
            assert body["status"] == "BUILD", body
            return body["task_state"] not in (None, "scheduling")

        await eventually(probe, within=15, interval=0.05)


def when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


class TestCrashDuringBuild:
    async def test_the_build_finishes_after_a_restart(
        self, launcher: Launcher, sim_database_url: str
    ) -> None:
        env = {
            "STACKGATE_SIM_DURATIONS": json.dumps({"create": [4, 5]}),
            "STACKGATE_WORKER_LEASE_SECONDS": "2",
        }
        first, base_url = await launcher.serving("serve", **env)
        server = await create(base_url)
        await handed_to_the_cloud(base_url, server["id"])

        first.kill()
        assert first.popen.returncode == -signal.SIGKILL
        second, base_url = await launcher.serving("serve", **env)

        final = await settled(base_url, server["id"], within=30)
        assert (final["status"], final["task_state"], final["fault"]) == ("ACTIVE", None, None)
        assert final["ip_address"]
        second.signal(signal.SIGTERM)
        await second.wait(20)
        # The restarted worker adopted the cloud's server; it did not boot a second one.
        assert len(await cloud_servers(sim_database_url, server["id"])) == 1

    @pytest.mark.parametrize("crash", [False, True], ids=["running", "killed-and-restarted"])
    async def test_a_build_past_its_deadline_ends_in_error(
        self, launcher: Launcher, crash: bool
    ) -> None:
        env = {
            "STACKGATE_OPERATION_TIMEOUT": "2",
            "STACKGATE_SIM_DURATIONS": json.dumps({"create": [30, 40]}),
            "STACKGATE_WORKER_LEASE_SECONDS": "2",
        }
        process, base_url = await launcher.serving("serve", **env)
        server = await create(base_url)
        if crash:
            await asyncio.sleep(1)  # the worker has sent the create; the deadline is near
            async with api(base_url) as http:
                assert (await show(http, server["id"]))["status"] == "BUILD"
            process.kill()
            process, base_url = await launcher.serving("serve", **env)

        final = await settled(base_url, server["id"], within=20)

        assert (final["status"], final["task_state"]) == ("ERROR", None)
        fault = final["fault"]
        assert fault["code"] == 500
        assert "deadline" in fault["message"]
        # Ended by the deadline, not before it (server-side clock on both stamps).
        assert when(fault["created"]) - when(final["created_at"]) >= timedelta(seconds=2)
        async with api(base_url) as http:
            actions = (await http.get(f"/api/v1/vms/{server['id']}/actions")).json()["items"]
        assert [(a["action"], a["result"]) for a in actions] == [("create", "Error")]

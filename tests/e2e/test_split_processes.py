"""The distributed shape: `stackgate api` and `stackgate worker` as two processes sharing only
the database; the API accepts, the worker process drives the cloud."""

from __future__ import annotations

import asyncio
import signal

import pytest

from tests.e2e.conftest import Launcher, api, eventually

pytestmark = pytest.mark.e2e
SERVER = {"name": "web-01", "flavor": "m1.small", "image": "cirros-0.6"}


class TestApiAndWorker:
    async def test_the_worker_process_drives_what_the_api_process_accepted(
        self, launcher: Launcher
    ) -> None:
        await launcher.run("migrate")
        api_process, base_url = await launcher.serving("api")
        async with api(base_url) as http:
            created = await http.post("/api/v1/vms", json=SERVER)
            assert created.status_code == 202, created.text
            location = created.headers["location"]

            # The API process never drives the cloud itself: without a worker nothing moves.
            await asyncio.sleep(1.5)
            waiting = (await http.get(location)).json()
            assert (waiting["status"], waiting["task_state"]) == ("BUILD", "scheduling")

            worker = launcher.start("worker")

            async def active() -> dict[str, object] | None:
                assert worker.running, worker.tail()
                body = dict((await http.get(location)).json())
                return None if body["status"] == "BUILD" else body

            final = await eventually(active, within=20)
            assert (final["status"], final["task_state"]) == ("ACTIVE", None)
            assert final["ip_address"]

        for process in (worker, api_process):
            process.signal(signal.SIGTERM)
            assert await process.wait(20) in (0, -signal.SIGTERM), process.tail()

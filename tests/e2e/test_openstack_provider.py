"""StackGate on a cloud it reaches only through OpenStack's APIs: `stackgate fakecloud` and
`stackgate serve` with STACKGATE_PROVIDER=openstack configured by the standard OS_* variables,
as two processes over real HTTP. The cloud going away and coming back loses nothing."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

import openstack
from stackgate.core.context import DEFAULT_PROJECT_ID
from stackgate.core.tags import tag_for
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.conftest import Launcher, Process, api, eventually, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.openstack]
SERVER = {"name": "web-01", "flavor": "m1.small", "image": "cirros-0.6"}


async def start_fakecloud(launcher: Launcher, port: int) -> Process:
    process = launcher.start("fakecloud", STACKGATE_PORT=str(port))

    async def answering() -> bool:
        assert process.running, f"stackgate fakecloud died:\n{process.tail()}"
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                return (await http.get(f"http://127.0.0.1:{port}/v3")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(answering, within=30)
    return process


def cloud_settings(port: int) -> dict[str, str]:
    """What clouds.yaml would hold for the fake (the OS_* variables, lower case, unprefixed)."""
    return {
        "auth_url": f"http://127.0.0.1:{port}/v3",
        "username": "admin",
        "password": ADMIN_PASSWORD,
        "project_name": "admin",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        "region_name": "RegionOne",
    }


def os_env(port: int) -> dict[str, str]:
    return {
        "STACKGATE_PROVIDER": "openstack",
        "OS_IDENTITY_API_VERSION": "3",
        "STACKGATE_PROVIDER_BREAKER_FAILURES": "3",
        "STACKGATE_PROVIDER_BREAKER_RESET_SECONDS": "2",
        **{f"OS_{k.upper()}": v for k, v in cloud_settings(port).items()},
    }


async def status_of(http: httpx.AsyncClient, path: str, *wanted: str) -> dict[str, Any] | None:
    body = dict((await http.get(path)).json())
    return body if body["status"] in wanted and body["task_state"] is None else None


def cloud_view(port: int, server_id: str) -> tuple[list[Any], Any]:
    """The cloud's servers carrying our server's tag, and the Keystone project it should be in."""
    conn = openstack.connect(**cloud_settings(port))
    try:
        servers = list(conn.compute.servers(all_projects=True, tags=tag_for(server_id)))
        return servers, conn.identity.find_project(f"stackgate-{DEFAULT_PROJECT_ID}")
    finally:
        conn.close()


class TestServeOnOpenStack:
    async def test_a_server_lives_in_its_projects_keystone_scope_and_survives_an_outage(
        self, launcher: Launcher
    ) -> None:
        cloud_port = free_port()
        cloud = await start_fakecloud(launcher, cloud_port)
        _, base_url = await launcher.serving("serve", **os_env(cloud_port))
        async with api(base_url) as http:
            created = await http.post("/api/v1/vms", json=SERVER)
            assert created.status_code == 202, created.text
            location = created.headers["location"]
            active = await eventually(lambda: status_of(http, location, "ACTIVE"), within=30)
            assert active["ip_address"]

            found, project = await asyncio.to_thread(cloud_view, cloud_port, active["id"])
            assert len(found) == 1
            assert project is not None and found[0].project_id == project.id

            # The cloud goes away: the stop is accepted, readiness reports the provider down.
            cloud.signal(signal.SIGTERM)
            await cloud.wait(20)
            stop = await http.post(f"{location}/actions/stop")
            assert stop.status_code == 202, stop.text

            async def provider_down() -> bool:
                ready = await http.get("/health/ready")
                checks = {c["name"]: c["status"] for c in ready.json()["checks"]}
                return ready.status_code == 503 and checks["provider"] == "down"

            await eventually(provider_down, within=20)

            # It comes back on the same port and state: the stop is carried out.
            await start_fakecloud(launcher, cloud_port)
            stopped = await eventually(lambda: status_of(http, location, "SHUTOFF"), within=60)
            assert stopped["power_state"] == 4


class TestMisconfigured:
    async def test_worker_and_serve_refuse_to_start_naming_what_is_missing(
        self, launcher: Launcher, tmp_path: Path
    ) -> None:
        (tmp_path / "clouds.yaml").write_text("clouds: {}\n")
        launcher.env = {k: v for k, v in launcher.env.items() if not k.startswith("OS_")}
        launcher.env.update(
            STACKGATE_PROVIDER="openstack",
            OS_CLIENT_CONFIG_FILE=str(tmp_path / "clouds.yaml"),
            HOME=str(tmp_path),
        )
        for command in ("worker", "serve"):
            process = launcher.start(command, STACKGATE_PORT=str(free_port()))
            assert await process.wait(60) != 0, process.tail()
            assert "OS_AUTH_URL" in process.tail(200), process.tail()

"""`stackgate serve`: the embedded default in one process, over real HTTP on loopback."""

from __future__ import annotations

import signal
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Launcher, api, cloud_servers, eventually, public_get

pytestmark = pytest.mark.e2e
SERVER = {"name": "web-01", "flavor": "m1.small", "image": "cirros-0.6"}


async def stopped_building(http: httpx.AsyncClient, path: str) -> dict[str, Any] | None:
    body = dict((await http.get(path)).json())
    return None if body["status"] == "BUILD" else body


class TestServe:
    async def test_a_created_server_goes_from_build_to_active(
        self, launcher: Launcher, sim_database_url: str
    ) -> None:
        process, base_url = await launcher.serving("serve")
        async with api(base_url) as http:
            created = await http.post("/api/v1/vms", json=SERVER)
            assert created.status_code == 202, created.text
            server = created.json()
            assert (server["status"], server["task_state"]) == ("BUILD", "scheduling")
            location = created.headers["location"]
            assert location == f"/api/v1/vms/{server['id']}"
            # The simulated create takes 2-3 s, so the server is still building now.
            assert (await http.get(location)).json()["status"] == "BUILD"

            active = await eventually(lambda: stopped_building(http, location), within=20)

            assert (active["status"], active["task_state"], active["power_state"]) == (
                "ACTIVE",
                None,
                1,
            )
            assert active["ip_address"] and active["launched_at"]
            actions = (await http.get(f"{location}/actions")).json()["items"]
            assert [(a["action"], a["result"]) for a in actions] == [("create", "Success")]

        process.signal(signal.SIGTERM)
        assert await process.wait(20) in (0, -signal.SIGTERM), process.tail()
        assert len(await cloud_servers(sim_database_url, server["id"])) == 1

    async def test_health_docs_and_openapi_answer(self, launcher: Launcher) -> None:
        _, base_url = await launcher.serving("serve")

        assert (await public_get(base_url, "/health"))["status"] == "ok"
        ready = await public_get(base_url, "/health/ready")
        assert ready["status"] == "ready"
        assert {c["name"]: c["status"] for c in ready["checks"]} == {
            "database": "up",
            "provider": "up",
        }
        document = await public_get(base_url, "/openapi.json")
        assert document["openapi"].startswith("3.")
        assert {"/api/v1/vms", "/api/v1/vms/{server_id}", "/api/v1/flavors"} <= set(
            document["paths"]
        )
        async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
            response = await http.get("/docs")
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/html")
            assert "/openapi.json" in response.text
            # Swagger UI comes from the installed package, not a CDN.
            bundle = await http.get("/docs/assets/swagger-ui-bundle.js")
            assert bundle.status_code == 200
            assert "SwaggerUIBundle" in bundle.text

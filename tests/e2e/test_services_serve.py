"""`stackgate serve` runs billing too: one real process on the embedded default (SQLite, the
simulator, no broker). POST /api/billing lands in billing's orders, and a server that ran for a
few seconds is rated from the events the in-process relay handed billing."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD
from tests.e2e.conftest import Launcher, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.services]
SERVER = {"name": "billed-01", "flavor": "m1.small", "image": "cirros-0.6"}
ORDER = {"user_id": "3", "number_of_items": "5", "total_amount": "180"}


async def token(base_url: str, user: str, password: str, project: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        login = {"username": user, "password": password, "project": project}
        answer = await http.post("/api/v1/auth/tokens", json=login)
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def run_a_server(http: httpx.AsyncClient, *, seconds: float) -> tuple[str, str]:
    """Create a server, keep it ACTIVE for `seconds`, delete it; returns (project, server) ids."""
    created = await http.post("/api/v1/vms", json=SERVER)
    assert created.status_code == 202, created.text
    location = created.headers["location"]

    async def active() -> dict[str, Any] | None:
        body = dict((await http.get(location)).json())
        assert body["status"] in ("BUILD", "ACTIVE"), body
        return body if body["status"] == "ACTIVE" else None

    server = await eventually(active, within=30)
    await asyncio.sleep(seconds)
    deleted = await http.delete(location)
    assert deleted.status_code in (202, 204), deleted.text

    async def gone() -> bool:
        answer = await http.get(location)
        return answer.status_code == 404 or answer.json()["status"] == "DELETED"

    await eventually(gone, within=30)
    return str(server["project_id"]), str(server["id"])


async def server_usage(
    http: httpx.AsyncClient, project_id: str, server_id: str
) -> dict[str, Any] | None:
    """The usage report once it rates the server (created and deleted), else None."""
    answer = await http.get(f"/api/v1/billing/projects/{project_id}/usage")
    assert answer.status_code == 200, answer.text
    usage: dict[str, Any] = answer.json()
    rows = [r for r in usage["resources"] if r["resource_id"] == server_id]
    return usage if rows and Decimal(rows[0]["amount"]) > 0 else None


@pytest.fixture
def embedded(launcher: Launcher) -> Launcher:
    """The embedded default whatever the run's database: SQLite files (control plane and
    billing) in the test's directory, no broker, no Redis."""
    launcher.env["STACKGATE_DATABASE_URL"] = (
        f"sqlite+aiosqlite:///{launcher.workdir / 'stackgate.db'}"
    )
    return launcher


class TestServeRunsBilling:
    async def test_orders_and_usage_in_one_process(self, embedded: Launcher) -> None:
        _, base_url = await embedded.serving("serve")
        admin = await token(base_url, "admin", ADMIN_PASSWORD, "admin")
        demo = await token(base_url, "demo", DEMO_PASSWORD, "demo")
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            for path in ("/api/billing", "/api/billing/"):
                posted = await http.post(path, json=ORDER)
                assert posted.status_code == 200, posted.text
                assert posted.json() == {"message": "Message posted"}
            orders = await http.get("/api/v1/billing/orders", headers=admin)
            assert orders.status_code == 200, orders.text
            assert [
                (o["user_id"], o["number_of_items"], o["total_amount"])
                for o in orders.json()["items"]
            ] == [("3", 5, "180.00")] * 2
            # Orders are the cloud admin's; anonymous callers are refused.
            assert (await http.get("/api/v1/billing/orders", headers=demo)).status_code == 403
            assert (await http.get("/api/v1/billing/orders")).status_code == 401

            http.headers.update(demo)
            project_id, server_id = await run_a_server(http, seconds=3)
            usage = await eventually(
                lambda: server_usage(http, project_id, server_id), within=15, interval=0.25
            )
        (row,) = [r for r in usage["resources"] if r["resource_id"] == server_id]
        assert row["resource_type"] == "server"
        assert Decimal(row["seconds"]) >= 3
        assert Decimal(usage["total"]) >= Decimal(row["amount"]) > 0

    async def test_the_documentation_shows_the_billing_api(self, embedded: Launcher) -> None:
        _, base_url = await embedded.serving("serve")
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            document = (await http.get("/openapi.json")).json()
        assert {
            "/api/billing",
            "/api/v1/billing/orders",
            "/api/v1/billing/projects/{project_id}/usage",
            "/api/v1/vms",
        } <= set(document["paths"])

"""Small builders with sensible defaults (Polar's style), for API tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from stackgate.bootstrap import Container
from stackgate.compute.models import Server

PROBLEM_JSON = "application/problem+json"


async def create_server(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "web-01", "flavor": "m1.small", "image": "cirros-0.6", **fields}
    response = await client.post("/api/v1/vms", json=body)
    assert response.status_code == 202, response.text
    return dict(response.json())


async def active_server(
    client: httpx.AsyncClient, container: Container, **fields: Any
) -> dict[str, Any]:
    """A server driven to ACTIVE by the worker (simulator at speed 0)."""
    server = await create_server(client, **fields)
    await container.runner.drain()
    response = await client.get(f"/api/v1/vms/{server['id']}")
    body = dict(response.json())
    assert body["status"] == "ACTIVE", body
    return body


async def act(
    client: httpx.AsyncClient, server_id: str, action: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post(f"/api/v1/vms/{server_id}/actions/{action}", json=body)


async def settle(client: httpx.AsyncClient, container: Container, server_id: str) -> dict[str, Any]:
    await container.runner.drain()
    return dict((await client.get(f"/api/v1/vms/{server_id}")).json())


async def gone(client: httpx.AsyncClient, container: Container, server_id: str) -> dict[str, Any]:
    """Drain the worker, check the deleted server answers 404 (a DELETED server is gone, as in
    Nova), and return what its soft-deleted row keeps (status, states, deleted_at)."""
    await container.runner.drain()
    assert_problem(await client.get(f"/api/v1/vms/{server_id}"), 404, "not_found")
    async with container.sessionmaker() as session:
        row = await session.get(Server, server_id)
        assert row is not None
        return {
            "status": row.status,
            "task_state": row.task_state,
            "power_state": row.power_state,
            "deleted_at": row.deleted_at,
        }


async def server_in(
    client: httpx.AsyncClient,
    container: Container,
    status: str,
    **fields: Any,
) -> dict[str, Any]:
    """A settled server in `status`, reached from ACTIVE with the usual action."""
    server = await active_server(client, container, **fields)
    route = {
        "ACTIVE": [],
        "SHUTOFF": ["stop"],
        "PAUSED": ["pause"],
        "SUSPENDED": ["suspend"],
        "SHELVED_OFFLOADED": ["shelve"],
        "VERIFY_RESIZE": [("resize", {"flavor": "m1.medium"})],
    }[status]
    for step in route:
        name, body = step if isinstance(step, tuple) else (step, None)
        response = await act(client, server["id"], name, body)
        assert response.status_code == 202, response.text
        server = await settle(client, container, server["id"])
    assert server["status"] == status, server
    return server


async def server_count(client: httpx.AsyncClient, status: str | None = None) -> int:
    """How many servers the list shows (all statuses but DELETED by default)."""
    params = {"status": status} if status else {}
    response = await client.get("/api/v1/vms", params=params)
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


async def create_flavor(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "t1.custom", "vcpus": 1, "ram_mb": 256, "disk_gb": 1, **fields}
    response = await client.post("/api/v1/flavors", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create_image(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "custom-image", **fields}
    response = await client.post("/api/v1/images", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def assert_problem(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    """An RFC 9457 problem with the expected status (and code); returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body = dict(response.json())
    assert body["status"] == status
    for key in ("type", "title", "detail", "code", "request_id"):
        assert body.get(key), (key, body)
    assert body["request_id"] == response.headers["x-request-id"]
    if code is not None:
        assert body["code"] == code, body
    return body


@contextlib.asynccontextmanager
async def running_worker(container: Container) -> AsyncIterator[None]:
    """The worker loop in the background for the duration of the block."""
    stop = asyncio.Event()
    task = asyncio.create_task(container.runner.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)

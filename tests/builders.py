"""Small builders with sensible defaults (Polar's style), for API tests."""

from __future__ import annotations

from typing import Any

import httpx

from stackgate.bootstrap import Container


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

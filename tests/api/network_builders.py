"""Builders for the network API tests: networks, subnets, ports, floating IPs, and a helper
that lets the worker settle every network-side operation (children wait for their parents)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select

from stackgate.bootstrap import Container
from stackgate.core.operations import Operation, OpState


async def pending_operations(container: Container) -> int:
    async with container.sessionmaker() as session:
        stmt = select(func.count()).where(Operation.state == OpState.PENDING)
        return int(await session.scalar(stmt) or 0)


async def settle(container: Container, *, seconds: float = 10) -> None:
    """Drain the worker until no operation is pending (waits are retried shortly)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        await container.runner.drain()
        if await pending_operations(container) == 0 or loop.time() > deadline:
            return
        await asyncio.sleep(0.05)


async def create_network(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/networks", json={"name": "net-1", **fields})
    assert response.status_code == 202, response.text
    return dict(response.json())


async def create_subnet(
    client: httpx.AsyncClient, network_id: str, cidr: str = "192.168.10.0/24", **fields: Any
) -> dict[str, Any]:
    body = {"network_id": network_id, "cidr": cidr, **fields}
    response = await client.post("/api/v1/subnets", json=body)
    assert response.status_code == 202, response.text
    return dict(response.json())


async def network_with_subnet(
    client: httpx.AsyncClient, cidr: str = "192.168.10.0/24", **fields: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    network = await create_network(client, **fields)
    subnet = await create_subnet(client, network["id"], cidr)
    return network, subnet


async def create_port(client: httpx.AsyncClient, network_id: str, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/ports", json={"network_id": network_id, **fields})
    assert response.status_code == 202, response.text
    return dict(response.json())


async def get(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return dict(response.json())

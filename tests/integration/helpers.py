"""Small helpers shared by the integration tests (builders in Polar's style)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from stackgate.bootstrap import Container
from stackgate.compute.models import Server
from stackgate.compute.repository import ComputeUoW
from stackgate.compute.servers.schemas import ServerCreate, ServerDetail
from stackgate.core.context import RequestContext
from stackgate.core.idempotency import StoredResponse
from stackgate.core.operations import Operation


async def create_server(
    container: Container, ctx: RequestContext, *, key: str | None = None, **fields: Any
) -> Server:
    """Accept a server through the service, as POST /api/v1/vms does."""
    body = {"name": "web-01", "flavor": "m1.small", "image": "cirros-0.6", **fields}
    result = await container.servers.create(ctx, ServerCreate(**body), idempotency_key=key)
    assert isinstance(result, ServerDetail), result
    return result.server


async def create_or_replay(
    container: Container, ctx: RequestContext, *, key: str, **fields: Any
) -> Server | StoredResponse:
    body = {"name": "web-01", "flavor": "m1.small", "image": "cirros-0.6", **fields}
    result = await container.servers.create(ctx, ServerCreate(**body), idempotency_key=key)
    return result.server if isinstance(result, ServerDetail) else result


async def server_row(container: Container, server_id: str) -> Server:
    async with ComputeUoW(container.sessionmaker) as uow:
        server = await uow.servers.get_unscoped(server_id)
    assert server is not None, server_id
    return server


async def operations_of(container: Container, server_id: str) -> Sequence[Operation]:
    """Every operation of a server, oldest first."""
    async with ComputeUoW(container.sessionmaker) as uow:
        return list(reversed(await uow.operations.list_for_resource(server_id)))


async def all_operations(container: Container) -> Sequence[Operation]:
    async with ComputeUoW(container.sessionmaker) as uow:
        return (await uow.session.scalars(select(Operation))).all()


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 30, interval: float = 0.05
) -> None:
    """Wait until `check()` holds; fail after `within` seconds instead of hanging."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        assert loop.time() < deadline, f"condition not reached within {within}s"
        await asyncio.sleep(interval)


async def drive(container: Container, server_id: str, *, within: float = 30) -> Server:
    """Run the container's worker until the server has no task left (retries included)."""

    async def settled() -> bool:
        await container.runner.run_once()
        return (await server_row(container, server_id)).task_state is None

    await eventually(settled, within=within)
    return await server_row(container, server_id)


class StepClock:
    """A clock the test moves by hand (idempotency TTLs, leases)."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta

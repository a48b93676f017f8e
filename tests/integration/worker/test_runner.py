"""Competing workers share one database: leases make each operation run in exactly one of them
(DESIGN.md 1), and a dead worker's lease runs out so another one resumes its work."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from stackgate.bootstrap import Container
from stackgate.compute.handlers import ServerOperationHandler
from stackgate.compute.models import Server
from stackgate.core.context import RequestContext
from stackgate.core.operations import Operation, OpResult, OpState
from stackgate.core.tags import tag_for
from stackgate.core.uow import UnitOfWork
from stackgate.network.public import ensure_default_group
from stackgate.worker.registry import HandlerRegistry
from stackgate.worker.runner import Runner
from tests.integration.helpers import (
    all_operations,
    create_server,
    eventually,
    operations_of,
    server_row,
)

LEASE = timedelta(seconds=60)


@pytest.fixture(autouse=True)
async def default_group_settled(container: Container, ctx: RequestContext) -> None:
    """These tests watch how workers share operations: the project's default security group
    (made on first use, with operations of its own) is made and synced beforehand, and the
    servers are made without networks, so each has exactly one operation."""
    async with UnitOfWork(container.sessionmaker) as uow:
        await ensure_default_group(uow, ctx.project_id, operations=container.operations)
        await uow.commit()
    await container.runner.drain()
    assert all(op.state == OpState.DONE for op in await all_operations(container))


async def bare_server(container: Container, ctx: RequestContext, **fields: Any) -> Server:
    return await create_server(container, ctx, networks=[], **fields)


async def server_operations(container: Container) -> list[Operation]:
    return [op for op in await all_operations(container) if op.resource_type == "server"]


class RecordingHandler:
    """The real server handler, noting which worker ran which step."""

    def __init__(self, inner: ServerOperationHandler) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str]] = []

    async def handle(self, op_id: str, owner: str) -> None:
        self.calls.append((op_id, owner))
        await self.inner.handle(op_id, owner)


def worker(container: Container, registry: HandlerRegistry) -> Runner:
    return Runner(
        container.sessionmaker,
        registry,
        clock=container.clock,
        concurrency=4,
        poll_interval=0.02,
        lease_seconds=LEASE.total_seconds(),
    )


async def claim(container: Container, owner: str, *, lease: timedelta = LEASE) -> list[str]:
    """One claim in its own transaction, as a worker makes it."""
    async with UnitOfWork(container.sessionmaker) as uow:
        claimed = await uow.operations.claim(
            owner=owner, now=container.clock.now(), lease=lease, limit=100
        )
        await uow.commit()
    return claimed


class TestCompetingWorkers:
    async def test_two_workers_drive_thirty_creates_each_exactly_once(
        self, container: Container, ctx: RequestContext
    ) -> None:
        servers = [await bare_server(container, ctx, name=f"vm-{i:02d}") for i in range(30)]
        recorder = RecordingHandler(
            ServerOperationHandler(
                container.sessionmaker,
                container.provider,
                clock=container.clock,
                operations=container.operations,
            )
        )
        registry = HandlerRegistry({"server": recorder})
        workers = [worker(container, registry), worker(container, registry)]
        stop = asyncio.Event()
        loops = [asyncio.create_task(w.run(stop)) for w in workers]

        async def all_done() -> bool:
            return all(op.state == OpState.DONE for op in await server_operations(container))

        try:
            await eventually(all_done, within=60)
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*loops), 15)

        for server in servers:
            row = await server_row(container, server.id)
            assert (row.status, row.task_state) == ("ACTIVE", None), row.id
            assert row.ip_address and row.provider_id
        ops = await server_operations(container)
        assert len(ops) == 30
        assert {(op.action, op.result, op.attempts) for op in ops} == {
            ("create", OpResult.SUCCESS, 1)
        }
        # Every operation was executed once, by one worker, and both workers took a share.
        runs = Counter(op_id for op_id, _ in recorder.calls)
        assert set(runs) == {op.id for op in ops}
        assert set(runs.values()) == {1}
        assert {owner for _, owner in recorder.calls} == {w.owner for w in workers}
        # The cloud holds one server per row: nobody created one twice.
        cloud = await container.provider.compute.servers()
        assert len(cloud) == 30
        assert sorted(tag for s in cloud for tag in s.tags) == sorted(
            tag_for(s.id) for s in servers
        )

    async def test_simultaneous_claims_hand_out_each_operation_once(
        self, container: Container, ctx: RequestContext
    ) -> None:
        servers = [await bare_server(container, ctx, name=f"vm-{i:02d}") for i in range(20)]
        claims = await asyncio.gather(*(claim(container, f"worker-{i}") for i in range(4)))
        claimed = [op_id for ids in claims for op_id in ids]
        assert len(claimed) == len(set(claimed)), claims
        assert set(claimed) == {(await operations_of(container, s.id))[0].id for s in servers}
        for op in await server_operations(container):
            assert op.attempts == 1
            assert op.lease_owner in {f"worker-{i}" for i in range(4)}


class TestLeaseExpiry:
    async def test_a_live_lease_keeps_other_workers_away(
        self, container: Container, ctx: RequestContext
    ) -> None:
        server = await bare_server(container, ctx)
        assert len(await claim(container, "busy-worker")) == 1
        assert await container.runner.run_once() == 0
        row = await server_row(container, server.id)
        assert (row.status, row.provider_id) == ("BUILD", None)

    async def test_a_dead_workers_operation_is_picked_up_by_another(
        self, container: Container, ctx: RequestContext
    ) -> None:
        server = await bare_server(container, ctx)
        (op_id,) = await claim(container, "dead-worker")
        # The owner died without a word: only the passing of its lease tells.
        async with UnitOfWork(container.sessionmaker) as uow:
            await uow.session.execute(
                update(Operation)
                .where(Operation.id == op_id)
                .values(lease_until=container.clock.now() - timedelta(seconds=1))
            )
            await uow.commit()

        await container.runner.drain()

        row = await server_row(container, server.id)
        assert (row.status, row.task_state) == ("ACTIVE", None)
        (op,) = await operations_of(container, server.id)
        assert (op.state, op.result, op.attempts) == (OpState.DONE, OpResult.SUCCESS, 2)
        assert op.lease_owner is None

    async def test_the_old_owner_cannot_act_once_its_lease_was_taken(
        self, container: Container, ctx: RequestContext
    ) -> None:
        server = await bare_server(container, ctx)
        (op_id,) = await claim(container, "stale-worker", lease=timedelta(seconds=-1))
        assert await claim(container, "new-worker") == [op_id]
        handler = ServerOperationHandler(
            container.sessionmaker,
            container.provider,
            clock=container.clock,
            operations=container.operations,
        )

        await handler.handle(op_id, "stale-worker")  # woke up late: must change nothing
        assert await container.provider.compute.servers() == []
        assert (await server_row(container, server.id)).status == "BUILD"

        await handler.handle(op_id, "new-worker")
        assert (await server_row(container, server.id)).status == "ACTIVE"
        assert len(await container.provider.compute.servers()) == 1

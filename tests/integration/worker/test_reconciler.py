"""The reconciler repairs what no operation will finish (DESIGN.md 1, level-triggered):
a task with no open operation behind it ends honestly instead of showing forever."""

from __future__ import annotations

from sqlalchemy import update

from stackgate.bootstrap import Container
from stackgate.core.context import RequestContext
from stackgate.core.operations import Operation, OpResult, OpState
from stackgate.core.uow import UnitOfWork
from stackgate.semantics.nova import TaskState
from tests.integration.helpers import create_server, drive, operations_of, server_row


async def orphan(container: Container, server_id: str) -> None:
    """End the server's open operations behind its back (a lost or purged operation row)."""
    async with UnitOfWork(container.sessionmaker) as uow:
        await uow.session.execute(
            update(Operation)
            .where(Operation.resource_id == server_id, Operation.state == OpState.PENDING)
            .values(state=OpState.DONE, result=OpResult.CANCELLED)
        )
        await uow.commit()


class TestRepairOrphans:
    async def test_a_build_without_operation_ends_in_error_with_a_fault(
        self, container: Container, ctx: RequestContext
    ) -> None:
        server = await create_server(container, ctx)
        await orphan(container, server.id)

        repaired = await container.reconciler.run_once()

        assert repaired["servers"] == 1
        row = await server_row(container, server.id)
        assert (row.status, row.vm_state, row.task_state) == ("ERROR", "error", None)
        assert row.fault_code == 500
        assert row.fault_message and "interrupted" in row.fault_message
        assert row.fault_created_at is not None

    async def test_another_task_without_operation_is_cleared(
        self, container: Container, ctx: RequestContext
    ) -> None:
        server = await create_server(container, ctx)
        await drive(container, server.id)
        stopping = await container.server_actions.act(ctx, server.id, "stop", None)
        assert stopping.server.task_state == TaskState.POWERING_OFF
        await orphan(container, server.id)

        assert (await container.reconciler.run_once())["servers"] == 1

        row = await server_row(container, server.id)
        assert (row.status, row.task_state, row.fault_code) == ("ACTIVE", None, None)

    async def test_servers_with_open_operations_are_left_alone(
        self, container: Container, ctx: RequestContext
    ) -> None:
        settled = await create_server(container, ctx, name="settled")
        await drive(container, settled.id)
        building = await create_server(container, ctx, name="building")

        assert (await container.reconciler.run_once())["servers"] == 0

        assert (await server_row(container, building.id)).status == "BUILD"
        assert (await server_row(container, settled.id)).status == "ACTIVE"
        (op,) = await operations_of(container, building.id)
        assert op.state == OpState.PENDING
        # ... and the worker still finishes the build normally afterwards.
        assert (await drive(container, building.id)).status == "ACTIVE"

    async def test_a_second_pass_finds_nothing_to_repair(
        self, container: Container, ctx: RequestContext
    ) -> None:
        server = await create_server(container, ctx)
        await orphan(container, server.id)
        assert (await container.reconciler.run_once())["servers"] == 1
        assert (await container.reconciler.run_once())["servers"] == 0
        assert (await server_row(container, server.id)).status == "ERROR"

"""The create step is idempotent: a worker that dies between the cloud's create and recording
its id (or loses the cloud's answer) leaves a tagged server that the next attempt adopts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from stackgate.bootstrap import Container
from stackgate.compute.models import Server
from stackgate.core.context import RequestContext
from stackgate.core.operations import Operation, OpResult
from stackgate.core.tags import tag_for
from stackgate.network.models import Port
from stackgate.providers.base import FlavorSpec, ImageSpec, ServerSpec
from stackgate.providers.simulator import SimulatorProvider
from tests.integration.helpers import create_server, drive, operations_of, server_row


def spec_of(server: Server) -> ServerSpec:
    """What the worker asks the cloud for, tag included."""
    assert server.image_id is not None
    return ServerSpec(
        name=server.name,
        flavor=FlavorSpec(
            name=server.flavor_name,
            vcpus=server.vcpus,
            ram_mb=server.ram_mb,
            disk_gb=server.disk_gb,
            id=server.flavor_id,
        ),
        image=ImageSpec(id=server.image_id, name=server.image_name or server.image_id),
        project_id=server.project_id,
        tags=(tag_for(server.id),),
    )


class TestIdempotentCreate:
    async def test_adopts_the_server_a_crashed_attempt_left_in_the_cloud(
        self, container: Container, ctx: RequestContext
    ) -> None:
        server = await create_server(container, ctx)
        # A previous attempt reached the cloud and died before its write transaction.
        orphan = await container.provider.compute.create_server(spec_of(server))
        assert (await server_row(container, server.id)).provider_id is None

        row = await drive(container, server.id)

        assert (row.status, row.provider_id) == ("ACTIVE", orphan.id)
        assert row.ip_address == (await container.provider.compute.get_server(orphan.id)).ip_address
        tagged = await container.provider.compute.servers(tags=(tag_for(server.id),))
        assert [s.id for s in tagged] == [orphan.id]
        assert len(await container.provider.compute.servers()) == 1

    async def test_a_lost_answer_is_retried_without_a_second_server(
        self, container: Container, provider: SimulatorProvider, ctx: RequestContext
    ) -> None:
        server = await create_server(container, ctx)
        await ports_ready(container, server.id)
        (op,) = await operations_of(container, server.id)
        waited = op.attempts
        # The cloud creates the server, but its answer never arrives (a timeout).
        provider.lose_responses(1)

        row = await drive(container, server.id)

        assert row.status == "ACTIVE"
        tagged = await container.provider.compute.servers(tags=(tag_for(server.id),))
        assert [s.id for s in tagged] == [row.provider_id]
        assert len(await container.provider.compute.servers()) == 1
        (op,) = await operations_of(container, server.id)
        assert (op.result, op.attempts) == (OpResult.SUCCESS, waited + 2)

    async def test_each_server_adopts_only_its_own_cloud_server(
        self, container: Container, ctx: RequestContext
    ) -> None:
        first = await create_server(container, ctx, name="first")
        second = await create_server(container, ctx, name="second")
        orphan = await container.provider.compute.create_server(spec_of(first))

        await container.runner.drain()

        rows = [await server_row(container, s.id) for s in (first, second)]
        assert rows[0].provider_id == orphan.id
        assert rows[1].provider_id not in (None, orphan.id)
        assert len(await container.provider.compute.servers()) == 2


class TestDeleteWaitsForARunningStep:
    async def test_delete_waits_until_the_create_step_has_ended(
        self, container: Container, ctx: RequestContext, provider: SimulatorProvider
    ) -> None:
        server = await create_server(container, ctx)
        (create,) = await operations_of(container, server.id)
        # A worker is in the middle of the create step (its lease is live) when the user
        # deletes: the create is cancelled, but the cloud may be making the server right now.
        async with container.sessionmaker() as session, session.begin():
            row = await session.get(type(create), create.id)
            assert row is not None
            row.lease_owner = "other-worker"
            row.lease_until = container.clock.now() + timedelta(seconds=60)
        await container.servers.delete(ctx, server.id)
        await provider.compute.create_server(spec_of(server))  # that step's cloud call

        await container.runner.run_once()
        waiting = await server_row(container, server.id)
        assert waiting.status != "DELETED" and waiting.task_state == "deleting"

        async with container.sessionmaker() as session, session.begin():
            row = await session.get(type(create), create.id)
            assert row is not None
            row.lease_owner = row.lease_until = None
        await drive(container, server.id)
        assert (await server_row(container, server.id)).status == "DELETED"
        await eventually_gone(provider, server.id)


async def ports_ready(container: Container, server_id: str) -> None:
    """Run the workers until the server's ports exist in the cloud (the build waits on them),
    without letting the server's own create operation take its turn."""
    for _ in range(100):
        async with container.sessionmaker() as session:
            ports = (await session.scalars(select(Port).where(Port.device_id == server_id))).all()
            ready = bool(ports) and all(p.provider_id for p in ports)
            later = timedelta(0) if ready else timedelta(hours=1)
            await session.execute(
                update(Operation)
                .where(Operation.resource_id == server_id)
                .values(next_attempt_at=container.clock.now() + later)
            )
            await session.commit()
        if ready:
            return
        await container.runner.run_once()
    raise AssertionError("the server's ports never reached the cloud")


async def eventually_gone(provider: SimulatorProvider, server_id: str) -> None:
    """The server the create step made was found by its tag and deleted too."""
    for _ in range(50):
        if not await provider.compute.servers(tags=(tag_for(server_id),)):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the create step's cloud server was left behind")

"""Every state change of a resource writes its events into the outbox in the same transaction
(events/recorder.py), through the real API and worker on the run's database."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from stackgate.block_storage.models import Volume
from stackgate.bootstrap import Container
from stackgate.compute.models import Server
from stackgate.core.context import DEFAULT_PROJECT_ID
from stackgate.core.outbox import OutboxEvent
from stackgate.core.uow import UnitOfWork
from tests.api.network_builders import create_network, create_subnet, settle
from tests.builders import act, active_server, create_server

from .outbox_helpers import outbox, types_of


class TestServers:
    async def test_create_start_commits_with_the_server_and_create_end_with_the_build(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await create_server(client, flavor="m1.small")
        # Accepted: the row and its create.start are committed together.
        (start,) = await outbox(container, server["id"])
        assert start.event_type == "compute.instance.create.start"
        assert start.project_id == DEFAULT_PROJECT_ID
        assert start.user_id is not None and start.resource_type == "server"
        assert start.payload["vm_state"] == "building"
        assert start.published_at is None and start.attempts == 0

        await container.runner.drain()
        rows = await outbox(container, server["id"])
        types = [row.event_type for row in rows]
        assert types[0] == "compute.instance.create.start"
        assert types.count("compute.instance.create.end") == 1
        (end,) = [row for row in rows if row.event_type == "compute.instance.create.end"]
        assert end.payload["flavor_name"] == "m1.small"
        assert set(end.payload) == {"flavor_name", "vcpus", "ram_mb", "disk_gb"}
        # Each state change on the way is an update; ids sort in the order of recording.
        assert all(t == "compute.instance.update" for t in types[1 : types.index(end.event_type)])
        assert [row.id for row in rows] == sorted(row.id for row in rows)
        envelope = end.envelope()
        assert envelope["event_id"] == end.id and envelope["occurred_at"].endswith("Z")

    async def test_resize_and_delete(self, client: httpx.AsyncClient, container: Container) -> None:
        server = await active_server(client, container, flavor="m1.small")
        assert (await act(client, server["id"], "resize", {"flavor": "m1.medium"})).is_success
        await container.runner.drain()
        resized = [
            row
            for row in await outbox(container, server["id"])
            if row.event_type == "compute.instance.resize.end"
        ]
        assert [row.payload["flavor_name"] for row in resized] == ["m1.medium"]
        assert (await act(client, server["id"], "revert-resize")).is_success
        await container.runner.drain()
        resized = [
            row
            for row in await outbox(container, server["id"])
            if row.event_type == "compute.instance.resize.end"
        ]
        # The revert puts the old flavor back in effect: billing hears that too.
        assert [row.payload["flavor_name"] for row in resized] == ["m1.medium", "m1.small"]

        assert (await client.delete(f"/api/v1/vms/{server['id']}")).status_code in (202, 204)
        await container.runner.drain()
        types = await types_of(container, server["id"])
        assert types.count("compute.instance.delete.end") == 1
        assert types[-1] == "compute.instance.delete.end"


class TestTransactions:
    async def test_a_rolled_back_unit_of_work_leaves_no_event(self, container: Container) -> None:
        async with container.sessionmaker() as session:
            session.add(
                Volume(
                    project_id=DEFAULT_PROJECT_ID,
                    size_gb=3,
                    volume_type="standard",
                    status="creating",
                    version=1,
                )
            )
            await session.flush()
            inside = (await session.scalars(select(OutboxEvent))).all()
            assert [row.event_type for row in inside] == ["volume.create.start"]
            await session.rollback()
        assert await outbox(container) == []

    async def test_a_unit_of_work_left_without_commit_leaves_no_event(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await active_server(client, container)
        before = len(await outbox(container, server["id"]))
        with pytest.raises(RuntimeError):
            async with UnitOfWork(container.sessionmaker) as uow:
                row = await uow.session.get(Server, server["id"])
                assert row is not None
                row.set_state("stopped", None, 4)
                await uow.flush()
                assert len((await uow.session.scalars(select(OutboxEvent))).all()) > before
                raise RuntimeError("the use case failed after its flush")
        assert len(await outbox(container, server["id"])) == before

    async def test_unchanged_writes_record_nothing(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await active_server(client, container)
        before = [row.id for row in await outbox(container, server["id"])]
        async with container.sessionmaker() as session, session.begin():
            row = await session.get(Server, server["id"])
            assert row is not None
            row.status = row.status
            row.vm_state = row.vm_state
        assert [row.id for row in await outbox(container, server["id"])] == before


class TestVolumes:
    async def test_create_extend_delete(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        response = await client.post("/api/v1/volumes", json={"size": 2})
        assert response.status_code == 202, response.text
        volume_id = response.json()["id"]
        await settle(container)
        rows = await outbox(container, volume_id)
        assert [row.event_type for row in rows[:2]] == ["volume.create.start", "volume.create.end"]
        assert rows[1].payload == {"size_gb": 2}
        assert rows[1].user_id == rows[0].user_id and rows[0].user_id is not None

        path = f"/api/v1/volumes/{volume_id}/actions/extend"
        assert (await client.post(path, json={"new_size": 5})).is_success
        await settle(container)
        resized = [
            r for r in await outbox(container, volume_id) if r.event_type.endswith("resize.end")
        ]
        assert [r.payload for r in resized] == [{"size_gb": 5}]

        assert (await client.delete(f"/api/v1/volumes/{volume_id}")).is_success
        await settle(container)
        assert (await types_of(container, volume_id))[-1] == "volume.delete.end"


class TestNetworking:
    async def test_floating_ip_life_cycle(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await create_server(client)
        await settle(container)
        fip = (await client.post("/api/v1/floating-ips", json={})).json()
        await settle(container)
        (created,) = [
            r for r in await outbox(container, fip["id"]) if r.event_type.endswith("create.end")
        ]
        assert created.event_type == "floatingip.create.end"
        assert created.payload["floating_ip_address"] == fip["floating_ip_address"]
        assert created.resource_type == "floating_ip"

        path = f"/api/v1/floating-ips/{fip['id']}/actions/associate"
        assert (await client.post(path, json={"vm_id": server["id"]})).is_success
        await settle(container)
        updates = [
            r for r in await outbox(container, fip["id"]) if r.event_type == "floatingip.update"
        ]
        assert updates and updates[-1].payload["port_id"] is not None

        assert (await client.delete(f"/api/v1/floating-ips/{fip['id']}")).is_success
        await settle(container)
        assert (await types_of(container, fip["id"]))[-1] == "floatingip.delete.end"

    async def test_network_delete_records_its_subnets_going_too(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        network = await create_network(client)
        subnet = await create_subnet(client, network["id"])
        await settle(container)
        assert (await types_of(container, network["id"]))[0] == "network.create.end"
        assert (await types_of(container, subnet["id"]))[0] == "subnet.create.end"
        assert (await client.delete(f"/api/v1/networks/{network['id']}")).status_code == 202
        await settle(container)
        assert (await types_of(container, network["id"]))[-1] == "network.delete.end"
        assert (await types_of(container, subnet["id"]))[-1] == "subnet.delete.end"

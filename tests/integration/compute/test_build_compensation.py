"""A server build is undone when a step fails: one fault-injection test per step. Each checks
that the server ends in ERROR with a fault naming the step, that none of its ports, addresses
or boot volume are left in our rows or in the cloud, that its data volumes are available
again and that only the instance still counts against the quota (as in Nova)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from stackgate.block_storage.models import Volume
from stackgate.bootstrap import Container
from stackgate.core.context import DEFAULT_PROJECT_ID
from stackgate.core.operations import Operation, OpState
from stackgate.core.tags import metadata_for, tag_for
from stackgate.network.models import IPAllocation, Port
from stackgate.providers.simulator import SimulatorProvider


async def new_volume(client: httpx.AsyncClient, container: Container, size: int = 1) -> str:
    response = await client.post("/api/v1/volumes", json={"size": size, "name": "data"})
    assert response.status_code == 202, response.text
    await container.runner.drain()
    volume = (await client.get(f"/api/v1/volumes/{response.json()['id']}")).json()
    assert volume["status"] == "available", volume
    return str(volume["id"])


async def accept(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "vm", "flavor": "m1.tiny", "image": "cirros-0.6", **fields}
    response = await client.post("/api/v1/vms", json=body)
    assert response.status_code == 202, response.text
    return dict(response.json())


async def rows_of(container: Container, server_id: str) -> tuple[list[str], list[str]]:
    """(port ids, volume ids) our rows hold for the server."""
    async with container.sessionmaker() as session:
        ports = (await session.scalars(select(Port.id).where(Port.device_id == server_id))).all()
        volumes = (
            await session.scalars(select(Volume.id).where(Volume.server_id == server_id))
        ).all()
    return list(ports), list(volumes)


async def drain(container: Container) -> None:
    """Run every worker until nothing is ready (backoffs included)."""
    for _ in range(200):
        await container.runner.drain()
        async with container.sessionmaker() as session:
            pending = (
                await session.scalars(
                    select(Operation.id).where(Operation.state == OpState.PENDING)
                )
            ).all()
        if not pending:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("operations still pending")


async def assert_undone(
    client: httpx.AsyncClient,
    container: Container,
    provider: SimulatorProvider,
    server: dict[str, Any],
    step: str,
    *,
    port_ids: list[str],
    boot_ids: list[str],
    data_ids: list[str] = (),  # type: ignore[assignment]
) -> None:
    await drain(container)
    body = (await client.get(f"/api/v1/vms/{server['id']}")).json()
    assert body["status"] == "ERROR", body
    assert body["fault"]["code"] == 500
    assert body["fault"]["message"].startswith(f"Build failed at step {step}: "), body["fault"]
    assert body["addresses"] == {} and body["volumes_attached"] == []

    async with container.sessionmaker() as session:
        assert not (await session.scalars(select(Port).where(Port.id.in_(port_ids)))).all()
        allocations = select(IPAllocation).where(IPAllocation.owner_id.in_(port_ids))
        assert not (await session.scalars(allocations)).all()
        assert not (await session.scalars(select(Volume).where(Volume.id.in_(boot_ids)))).all()
        for volume_id in data_ids:
            volume = await session.get(Volume, volume_id)
            assert volume is not None
            assert (volume.status, volume.server_id) == ("available", None)

    assert await provider.compute.servers(tags=(tag_for(server["id"]),)) == []
    for port_id in port_ids:
        assert await provider.network.ports(tags=(tag_for(port_id),)) == []
    for volume_id in boot_ids:
        assert await provider.block_storage.volumes(metadata=metadata_for(volume_id)) == []
    for volume_id in data_ids:
        (cloud,) = await provider.block_storage.volumes(metadata=metadata_for(volume_id))
        assert (cloud.status, cloud.attachments) == ("available", ())

    quotas = (await client.get(f"/api/v1/projects/{DEFAULT_PROJECT_ID}/quotas")).json()["quotas"]
    assert quotas["instances"]["in_use"] == 1  # the ERROR server counts until deleted (Nova)
    assert quotas["ports"]["in_use"] == 0
    assert quotas["volumes"]["in_use"] == len(data_ids)
    assert quotas["gigabytes"]["in_use"] == len(data_ids)

    # Deleting the failed server then frees the instance too.
    assert (await client.delete(f"/api/v1/vms/{server['id']}")).status_code == 202
    await drain(container)
    quotas = (await client.get(f"/api/v1/projects/{DEFAULT_PROJECT_ID}/quotas")).json()["quotas"]
    assert quotas["instances"]["in_use"] == 0


class TestCompensation:
    async def test_a_port_the_cloud_refuses_fails_networking(
        self, client: httpx.AsyncClient, container: Container, provider: SimulatorProvider
    ) -> None:
        data = await new_volume(client, container)
        provider.fail_call("create_port")
        server = await accept(client, boot_volume={"size": 1}, volumes=[data])
        port_ids, volume_ids = await rows_of(container, server["id"])
        assert len(port_ids) == 1
        boot_ids = [v for v in volume_ids if v != data]

        await assert_undone(
            client,
            container,
            provider,
            server,
            "networking",
            port_ids=port_ids,
            boot_ids=boot_ids,
            data_ids=[data],
        )

    async def test_a_boot_volume_the_cloud_refuses_fails_block_device_mapping(
        self, client: httpx.AsyncClient, container: Container, provider: SimulatorProvider
    ) -> None:
        data = await new_volume(client, container)
        provider.fail_call("create_volume")
        server = await accept(client, boot_volume={"size": 1}, volumes=[data])
        port_ids, volume_ids = await rows_of(container, server["id"])
        boot_ids = [v for v in volume_ids if v != data]
        assert len(boot_ids) == 1

        await assert_undone(
            client,
            container,
            provider,
            server,
            "block_device_mapping",
            port_ids=port_ids,
            boot_ids=boot_ids,
            data_ids=[data],
        )

    async def test_a_boot_volume_ending_in_error_fails_block_device_mapping(
        self, client: httpx.AsyncClient, container: Container, provider: SimulatorProvider
    ) -> None:
        provider.fail_next()  # the boot volume is the first asynchronous operation
        server = await accept(client, boot_volume={"size": 1})
        port_ids, boot_ids = await rows_of(container, server["id"])

        await assert_undone(
            client,
            container,
            provider,
            server,
            "block_device_mapping",
            port_ids=port_ids,
            boot_ids=boot_ids,
        )

    async def test_a_refused_server_create_fails_spawning(
        self, client: httpx.AsyncClient, container: Container, provider: SimulatorProvider
    ) -> None:
        data = await new_volume(client, container)
        provider.fail_call("create_server")
        server = await accept(client, boot_volume={"size": 1}, volumes=[data])
        port_ids, volume_ids = await rows_of(container, server["id"])
        boot_ids = [v for v in volume_ids if v != data]

        await assert_undone(
            client,
            container,
            provider,
            server,
            "spawning",
            port_ids=port_ids,
            boot_ids=boot_ids,
            data_ids=[data],
        )

    async def test_a_build_ending_in_error_fails_spawning(
        self, client: httpx.AsyncClient, container: Container, provider: SimulatorProvider
    ) -> None:
        data = await new_volume(client, container)
        provider.fail_next()  # no boot volume: the server build is the next operation
        server = await accept(client, volumes=[data])
        port_ids, _ = await rows_of(container, server["id"])

        await assert_undone(
            client,
            container,
            provider,
            server,
            "spawning",
            port_ids=port_ids,
            boot_ids=[],
            data_ids=[data],
        )

    @pytest.mark.parametrize("boot", [False, True])
    async def test_a_refused_attachment_fails_volume_attach(
        self,
        client: httpx.AsyncClient,
        container: Container,
        provider: SimulatorProvider,
        boot: bool,
    ) -> None:
        first = await new_volume(client, container)
        second = await new_volume(client, container)
        provider.fail_call("create_volume_attachment")  # the first attachment fails
        extra: dict[str, Any] = {"boot_volume": {"size": 1}} if boot else {}
        server = await accept(client, volumes=[first, second], **extra)
        port_ids, volume_ids = await rows_of(container, server["id"])
        boot_ids = [v for v in volume_ids if v not in (first, second)]

        await assert_undone(
            client,
            container,
            provider,
            server,
            "volume_attach",
            port_ids=port_ids,
            boot_ids=boot_ids,
            data_ids=[first, second],
        )

    async def test_a_failed_second_attachment_detaches_the_first(
        self, client: httpx.AsyncClient, container: Container, provider: SimulatorProvider
    ) -> None:
        first = await new_volume(client, container)
        second = await new_volume(client, container)
        server = await accept(client, volumes=[first, second])
        port_ids, _ = await rows_of(container, server["id"])
        # Let the build reach the attach phase and attach the first volume, then fail.
        for _ in range(100):
            await container.runner.run_once()
            async with container.sessionmaker() as session:
                stmt = select(Volume.status).where(Volume.id.in_([first, second]))
                statuses = sorted((await session.scalars(stmt)).all())
            if "in-use" in statuses:
                break
        assert statuses == ["attaching", "in-use"]
        provider.fail_call("create_volume_attachment")

        await assert_undone(
            client,
            container,
            provider,
            server,
            "volume_attach",
            port_ids=port_ids,
            boot_ids=[],
            data_ids=[first, second],
        )

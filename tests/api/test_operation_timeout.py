"""STACKGATE_OPERATION_TIMEOUT is every queued operation's deadline: a port, a floating IP, a
server and the ports (and first-use network and group) made for it, a volume, its extension and
its snapshot all get it, none a hard-coded default."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from tests.api.test_volumes import available_volume
from tests.builders import create_server
from tests.conftest import make_settings

from stackgate.bootstrap import Container
from stackgate.config import Settings
from stackgate.core.operations import Operation

TIMEOUT = 7


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, operation_timeout=TIMEOUT)


async def deadlines(container: Container) -> dict[str, set[timedelta]]:
    async with container.sessionmaker() as session:
        ops = (await session.scalars(select(Operation))).all()
    found: dict[str, set[timedelta]] = {}
    for op in ops:
        found.setdefault(op.resource_type, set()).add(op.deadline_at - op.created_at)
    return found


async def test_every_queued_operation_has_the_configured_deadline(
    client: httpx.AsyncClient, container: Container
) -> None:
    server = await create_server(client)
    ports = (await client.get("/api/v1/ports", params={"device_id": server["id"]})).json()
    network_id = ports["items"][0]["network_id"]
    response = await client.post("/api/v1/ports", json={"network_id": network_id})
    assert response.status_code == 202, response.text
    response = await client.post("/api/v1/floating-ips", json={})
    assert response.status_code == 202, response.text

    found = await deadlines(container)
    for kind in ("server", "port", "floating_ip", "network", "subnet", "security_group"):
        assert found.get(kind) == {timedelta(seconds=TIMEOUT)}, (kind, found)


async def test_volume_and_snapshot_operations_have_the_configured_deadline(
    client: httpx.AsyncClient, container: Container
) -> None:
    volume = await available_volume(client, container)
    snapshot = await client.post("/api/v1/volume-snapshots", json={"volume_id": volume["id"]})
    assert snapshot.status_code == 202, snapshot.text
    extend = await client.post(
        f"/api/v1/volumes/{volume['id']}/actions/extend", json={"new_size": 2}
    )
    assert extend.status_code == 202, extend.text
    async with container.sessionmaker() as session:
        ops = (await session.scalars(select(Operation))).all()
    assert sorted((op.resource_type, op.action) for op in ops) == [
        ("volume", "create"),
        ("volume", "extend"),
        ("volume_snapshot", "create"),
    ]
    for op in ops:
        assert op.deadline_at - op.created_at == timedelta(seconds=TIMEOUT), op.action

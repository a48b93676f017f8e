from __future__ import annotations

import httpx
from tests.builders import active_server, create_server

from stackgate.bootstrap import Container


async def test_create_then_active(client: httpx.AsyncClient, container: Container) -> None:
    server = await create_server(client)
    assert server["status"] == "BUILD"
    assert server["task_state"] == "scheduling"
    body = await active_server(client, container, name="web-02")
    assert body["ip_address"]
    assert body["power_state"] == 1

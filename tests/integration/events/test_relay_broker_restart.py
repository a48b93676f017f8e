"""The real broker restarted while the relay runs: no event is lost. This stops the shared
RabbitMQ node's application for a few seconds, so it is marked `broker_restart` and must run
serially and alone (`pytest -m broker_restart`); the broker is always started again."""

from __future__ import annotations

import asyncio
import json
import subprocess

import httpx
import pytest

from stackgate.bootstrap import Container
from stackgate.events.relay import OutboxRelay
from tests.integration.helpers import eventually

from .outbox_helpers import outbox, unpublished
from .test_relay_broker import make_volumes, relay, running, take_all, tap

__all__ = ["relay", "tap"]

pytestmark = [pytest.mark.broker_restart, pytest.mark.services]


def ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


async def test_broker_restart_while_relaying_loses_nothing(
    client: httpx.AsyncClient,
    container: Container,
    relay: OutboxRelay,
    tap: tuple[object, str],
    broker_url: str,
) -> None:
    _, queue = tap

    async def none_left() -> bool:
        return await unpublished(container) == 0

    async with running(relay) as task:
        before = await make_volumes(client, container, 2)
        relay.wakeup()
        await eventually(none_left, within=15)
        ctl("stop_app")
        try:
            during = await make_volumes(client, container, 3)
            relay.wakeup()
            await asyncio.sleep(2)
            assert await unpublished(container) >= 6
            assert not task.done()
        finally:
            ctl("start_app")
            ctl("await_startup")
        await eventually(none_left, within=60)
        assert not task.done()

    rows = await outbox(container)
    messages = await take_all(broker_url, queue)
    assert {row.id for row in rows} <= {m.message_id for m in messages}
    created = {json.loads(m.body)["resource_id"] for m in messages if m.type == "volume.create.end"}
    assert created >= set(before + during)

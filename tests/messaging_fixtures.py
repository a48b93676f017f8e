"""RabbitMQ for tests: one vhost per test run (created, granted to guest, deleted at the end),
so runs never see each other's queues. A broker that cannot be reached FAILS the run.

Use: `from tests.messaging_fixtures import broker_url, broker_vhost` in a conftest (pytest then
finds the fixtures), and the helpers below.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aio_pika
import pytest

RABBIT_HOST = os.environ.get("STACKGATE_TEST_RABBIT_HOST", "127.0.0.1:5672")
RABBITMQCTL = os.environ.get("STACKGATE_TEST_RABBITMQCTL", "rabbitmqctl")


@dataclass(frozen=True)
class Vhost:
    name: str
    url: str


def rabbitmqctl(*args: str, check: bool = True) -> None:
    """Run rabbitmqctl (we are root on the test machines); a failure fails the run when
    `check`, and is ignored otherwise (e.g. deleting a vhost at the end)."""
    try:
        subprocess.run([RABBITMQCTL, *args], check=True, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        if check:
            detail = getattr(exc, "stderr", "") or ""
            pytest.fail(f"rabbitmqctl {' '.join(args)} failed: {exc} {detail}", pytrace=False)


def vhost_url(vhost: str) -> str:
    return f"amqp://guest:guest@{RABBIT_HOST}/{quote(vhost, safe='')}"


@pytest.fixture(scope="session")
def broker_vhost() -> Iterator[Vhost]:
    """A fresh vhost for this run, granted to guest, deleted afterwards."""
    name = f"stackgate-test-{uuid.uuid4().hex[:12]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield Vhost(name=name, url=vhost_url(name))
    finally:
        rabbitmqctl("delete_vhost", name, check=False)


@pytest.fixture(scope="session")
def broker_url(broker_vhost: Vhost) -> str:
    """The AMQP URL of this run's vhost."""
    return broker_vhost.url


@contextlib.contextmanager
def temporary_vhost(prefix: str = "stackgate-test") -> Iterator[Vhost]:
    """A vhost of its own (e.g. per test, when processes must not see another test's queues),
    granted to guest and deleted at the end."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield Vhost(name=name, url=vhost_url(name))
    finally:
        rabbitmqctl("delete_vhost", name, check=False)


async def wait_for_broker(url: str, *, within: float = 90.0) -> None:
    """Until RabbitMQ accepts an AMQP connection on `url` again; fails after `within` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            connection = await aio_pika.connect(url, timeout=5)
        except Exception as exc:
            if loop.time() >= deadline:
                pytest.fail(f"RabbitMQ did not come back within {within}s: {exc}", pytrace=False)
            await asyncio.sleep(0.5)
        else:
            await connection.close()
            return


@contextlib.asynccontextmanager
async def broker_app_stopped(url: str) -> AsyncIterator[None]:
    """`rabbitmqctl stop_app` on the shared node, and ALWAYS `start_app` afterwards (waiting
    until `url` accepts connections again). Only in tests marked `broker_restart`, which run
    serially (pytest runs tests sequentially; never with xdist on the same node)."""
    try:
        await asyncio.to_thread(rabbitmqctl, "stop_app")
        yield
    finally:
        await asyncio.to_thread(rabbitmqctl, "start_app", check=False)
        await asyncio.to_thread(rabbitmqctl, "await_startup", check=False)
        await wait_for_broker(url)


async def connect(url: str) -> aio_pika.abc.AbstractRobustConnection:
    try:
        return await aio_pika.connect_robust(url)
    except Exception as exc:
        pytest.fail(f"RabbitMQ unreachable at {url}: {exc}", pytrace=False)


async def queue_depth(url: str, queue: str) -> int:
    """Messages ready in `queue` (0 when it does not exist)."""
    connection = await connect(url)
    try:
        channel = await connection.channel()
        try:
            declared = await channel.declare_queue(queue, passive=True)
        except aio_pika.exceptions.ChannelNotFoundEntity:
            return 0
        return int(declared.declaration_result.message_count or 0)
    finally:
        await connection.close()


async def purge_queues(url: str, *queues: str) -> None:
    connection = await connect(url)
    try:
        for queue in queues:
            channel = await connection.channel()
            try:
                declared = await channel.declare_queue(queue, passive=True)
                await declared.purge()
            except aio_pika.exceptions.ChannelNotFoundEntity:
                pass
    finally:
        await connection.close()


async def get_all(url: str, queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Take every message waiting in `queue` (acked: they are gone afterwards)."""
    connection = await connect(url)
    taken = []
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        while (message := await declared.get(fail=False, no_ack=False)) is not None:
            await message.ack()
            taken.append(message)
    finally:
        await connection.close()
    return taken


class Publisher:
    """Publishes the way the gateway does: persistent, message id, mandatory, confirmed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.connection: aio_pika.abc.AbstractRobustConnection | None = None
        self.channel: aio_pika.abc.AbstractChannel | None = None

    async def __aenter__(self) -> Publisher:
        self.connection = await connect(self.url)
        self.channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.connection is not None
        await self.connection.close()

    async def raw(
        self,
        body: bytes,
        *,
        routing_key: str,
        exchange: str = "",
        message_id: str | None = None,
        **properties: Any,
    ) -> None:
        assert self.channel is not None
        message = aio_pika.Message(
            body,
            message_id=message_id or str(uuid.uuid4()),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            **properties,
        )
        target = (
            self.channel.default_exchange
            if exchange == ""
            else await self.channel.get_exchange(exchange, ensure=False)
        )
        await target.publish(message, routing_key=routing_key, mandatory=True)

    async def order(self, body: dict[str, Any], *, message_id: str | None = None) -> str:
        message_id = message_id or str(uuid.uuid4())
        await self.raw(
            json.dumps(body).encode(), routing_key="billing_queue", message_id=message_id
        )
        return message_id

    async def event(self, envelope: dict[str, Any]) -> None:
        await self.raw(
            json.dumps(envelope).encode(),
            exchange="stackgate.events",
            routing_key=envelope["event_type"],
            message_id=envelope["event_id"],
            type=envelope["event_type"],
        )

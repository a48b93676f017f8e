"""Gateway fixtures: the gateway app in-process over httpx.ASGITransport, with its lifespan run,
in front of the control-plane app (itself over an ASGI transport: the real proxy code path with
no sockets), a vhost of its own on the real RabbitMQ, and the real Redis."""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aio_pika
import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from stackgate.app import create_app
from stackgate.bootstrap import Container
from stackgate.config import Settings
from stackgate.gateway.app import create_gateway
from stackgate.messaging.topology import BILLING_QUEUE
from tests.conftest import make_settings
from tests.messaging_fixtures import Vhost, rabbitmqctl

REDIS_URL = "redis://127.0.0.1:6379/0"
UPSTREAM = "http://api.internal"


@pytest.fixture(scope="session")
def gateway_vhost() -> Any:
    """The gateway tests' own vhost: billing's tests consume billing_queue in theirs."""
    name = f"stackgate-test-gw-{uuid.uuid4().hex[:12]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield Vhost(name=name, url=f"amqp://guest:guest@127.0.0.1:5672/{name}")
    finally:
        rabbitmqctl("delete_vhost", name, check=False)


@pytest.fixture
async def amqp(gateway_vhost: Vhost) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A channel on the gateway tests' vhost, with billing_queue emptied before the test."""
    try:
        connection = await aio_pika.connect(gateway_vhost.url, timeout=5)
    except Exception as exc:
        pytest.fail(f"RabbitMQ unreachable at 127.0.0.1:5672: {exc}", pytrace=False)
    async with connection:
        channel = await connection.channel()
        with contextlib.suppress(Exception):
            probe = await connection.channel()
            queue = await probe.declare_queue(BILLING_QUEUE, passive=True)
            await queue.purge()
        yield channel


@pytest.fixture(scope="session")
async def redis_url() -> AsyncIterator[str]:
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        pytest.fail(f"Redis unreachable at {REDIS_URL}: {exc}", pytrace=False)
    finally:
        await client.aclose()
    yield REDIS_URL


def bearer(subject: str | None = None) -> dict[str, str]:
    """An Authorization header whose (unsigned) token names `subject`: the gateway keys its
    rate limit on it; the API refuses it (401), which is fine for limit tests."""
    payload = json.dumps({"sub": subject or f"user-{uuid.uuid4().hex}"}).encode()
    body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    return {"Authorization": f"Bearer eyJhbGciOiJIUzI1NiJ9.{body}.c2ln"}


GatewayFactory = Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def gateway_settings(database_url: str) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"api_url": UPSTREAM, "gateway_rate_limit": ""}
        values.update(overrides)
        return make_settings(database_url, **values)

    return build


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan entered, and a client on it (no sockets)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http


@pytest.fixture
def upstream_app(container: Container) -> FastAPI:
    """The control-plane app on the test container (no lifespan needed)."""
    return create_app(container.settings, container=container)


@pytest.fixture
def gateway(
    gateway_settings: Callable[..., Settings], upstream_app: FastAPI
) -> Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]:
    """gateway(**settings): the gateway in front of the control-plane app (over an ASGI
    transport unless `api_url` points somewhere real)."""

    def make(**overrides: Any) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
        settings = gateway_settings(**overrides)
        transport = None
        if settings.api_url == UPSTREAM:
            transport = httpx.ASGITransport(app=upstream_app, raise_app_exceptions=False)
        app = create_gateway(settings, api_transport=transport, configure_logs=False)
        return running(app)

    return make

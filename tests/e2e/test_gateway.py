"""The gateway as a real process: in front of a real `stackgate api` process, publishing to the
real RabbitMQ, sharing rate limits through the real Redis with a second gateway process."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import aio_pika
import httpx
import pytest

from stackgate.messaging.topology import BILLING_QUEUE
from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import Launcher, free_port
from tests.messaging_fixtures import Vhost, rabbitmqctl

pytestmark = [pytest.mark.e2e, pytest.mark.services]
SERVER = {"name": "gw-e2e", "flavor": "m1.small", "image": "cirros-0.6"}
SAME = ("content-type", "location", "x-request-id", "idempotent-replayed", "www-authenticate")
ORDER = {"user_id": "3", "number_of_items": "5", "total_amount": "180"}


@pytest.fixture(scope="module")
def vhost() -> Iterator[Vhost]:
    name = f"stackgate-test-gwe2e-{uuid.uuid4().hex[:12]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield Vhost(name=name, url=f"amqp://guest:guest@127.0.0.1:5672/{name}")
    finally:
        rabbitmqctl("delete_vhost", name, check=False)


async def _login(http: httpx.AsyncClient) -> dict[str, str]:
    answer = await http.post(
        "/api/v1/auth/tokens",
        json={"username": "demo", "password": DEMO_PASSWORD, "project": "demo"},
    )
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def assert_same(via: httpx.Response, direct: httpx.Response) -> None:
    assert via.status_code == direct.status_code, via.text
    assert via.content == direct.content
    for name in SAME:
        assert via.headers.get(name) == direct.headers.get(name), name


async def big_body(total: int) -> AsyncIterator[bytes]:
    for _ in range(total // 16384):
        yield b" " * 16384


class TestGatewayInFrontOfTheApi:
    async def test_answers_come_back_unchanged_and_a_dead_api_is_a_quick_502(
        self, launcher: Launcher
    ) -> None:
        await launcher.run("migrate")
        api_process, api_url = await launcher.serving("api")
        _, gateway_url = await launcher.serving(
            "gateway",
            STACKGATE_API_URL=api_url,
            STACKGATE_GATEWAY_MAX_BODY_BYTES="100000",
            STACKGATE_GATEWAY_RATE_LIMIT="",
        )
        async with (
            httpx.AsyncClient(base_url=gateway_url, timeout=10) as via,
            httpx.AsyncClient(base_url=api_url, timeout=10) as direct,
        ):
            auth = await _login(via)  # the login itself went through the gateway
            via.headers.update(auth)
            direct.headers.update(auth)
            created = await via.post(
                "/api/v1/vms", json=SERVER, headers={"Idempotency-Key": "e2e-1"}
            )
            assert created.status_code == 202, created.text
            key = {"Idempotency-Key": "e2e-1", "X-Request-ID": "e2e-replay"}
            replay = await direct.post("/api/v1/vms", json=SERVER, headers=key)
            again = await via.post("/api/v1/vms", json=SERVER, headers=key)
            assert again.headers["idempotent-replayed"] == "true"
            assert_same(again, replay)
            location = created.headers["location"]
            for i in range(40):
                await direct.post("/api/v1/vms", json={**SERVER, "name": f"gw-{i:02d}"})
            server_id = created.json()["id"]
            for method, path, status in (
                ("GET", location, 200),
                ("GET", "/api/v1/vms?per_page=100&sort=name", 200),  # ~40 kB, streamed
                ("GET", "/api/v1/vms/00000000-0000-4000-8000-000000000000", 404),
                ("POST", f"/api/v1/vms/{server_id}/actions/start", 409),  # still BUILD
            ):
                rid = {"X-Request-ID": f"e2e-{status}-{len(path)}"}
                body = {} if method == "POST" else None
                one = await via.request(method, path, json=body, headers=rid)
                two = await direct.request(method, path, json=body, headers=rid)
                assert one.status_code == status, one.text
                assert_same(one, two)
                assert one.headers["x-request-id"] == rid["X-Request-ID"]

            too_big = await via.post("/api/v1/vms", content=big_body(400_000))
            assert too_big.status_code == 413
            assert too_big.json()["code"] == "payload_too_large"

            # The gateway's /docs is the API's: its paths and its OAuth2 login, from the package.
            mine = (await via.get("/openapi.json")).json()
            theirs = (await direct.get("/openapi.json")).json()
            assert mine["paths"]["/api/v1/vms"] == theirs["paths"]["/api/v1/vms"]
            assert mine["components"]["securitySchemes"] == theirs["components"]["securitySchemes"]
            assert "/api/billing" in mine["paths"]
            docs = await via.get("/docs")
            assert "/docs/assets/swagger-ui-bundle.js" in docs.text
            assert (await via.get("/docs/assets/swagger-ui-bundle.js")).status_code == 200
            assert (await via.get("/")).json()["docs"] == "/docs"

            api_process.signal(signal.SIGKILL)
            await api_process.wait(10)
            started = time.monotonic()
            down = await via.get("/api/v1/vms")
            assert time.monotonic() - started < 3
            assert down.status_code == 502
            assert down.headers["retry-after"]
            assert down.json()["code"] == "upstream_unavailable"


class TestPublishingProcess:
    async def test_an_order_posted_to_the_gateway_process_waits_in_billing_queue(
        self, launcher: Launcher, vhost: Vhost
    ) -> None:
        _, gateway_url = await launcher.serving(
            "gateway",
            STACKGATE_API_URL=f"http://127.0.0.1:{free_port()}",
            STACKGATE_BROKER_URL=vhost.url,
        )
        async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as http:
            for path in ("/api/billing", "/api/billing/"):
                answer = await http.post(path, json=ORDER, headers={"Idempotency-Key": path})
                assert answer.status_code == 200, answer.text
                assert answer.json() == {"message": "Message posted"}
        connection = await aio_pika.connect(vhost.url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(BILLING_QUEUE, passive=True)
            got = []
            for _ in range(2):
                message = await queue.get(timeout=5)
                await message.ack()
                got.append(message)
        assert [m.message_id for m in got] == ["/api/billing", "/api/billing/"]
        assert all(m.delivery_mode == aio_pika.DeliveryMode.PERSISTENT for m in got)
        assert all(json.loads(m.body) == ORDER for m in got)


class TestSharedLimit:
    async def test_two_gateway_processes_share_one_limit_in_redis(self, launcher: Launcher) -> None:
        env = {
            "STACKGATE_API_URL": f"http://127.0.0.1:{free_port()}",
            "STACKGATE_REDIS_URL": "redis://127.0.0.1:6379/0",
            "STACKGATE_GATEWAY_RATE_LIMIT": "4/minute",
        }
        (_, one), (_, two) = await asyncio.gather(
            launcher.serving("gateway", **env), launcher.serving("gateway", **env)
        )
        # A client without a token is its address: the same for both gateways.
        token = f"eyJhbGciOiJIUzI1NiJ9.{_b64({'sub': uuid.uuid4().hex})}.c2ln"
        headers = {"Authorization": f"Bearer {token}"}
        codes = []
        for base_url in (one, two, one, two, one, two):
            async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
                answer = await http.post("/api/billing", json={}, headers=headers)
                codes.append(answer.status_code)
        assert codes == [422, 422, 422, 422, 429, 429]
        assert int(answer.headers["retry-after"]) >= 1
        assert answer.headers["x-ratelimit-remaining"] == "0"


def _b64(claims: dict[str, str]) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

"""The gateway in front of the control-plane API: answers come back unchanged, and an upstream
that is down or silent answers 502/504 quickly, never a hang."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from stackgate.bootstrap import Container
from tests.builders import create_server
from tests.conftest import DEMO_PASSWORD, login
from tests.integration.gateway.conftest import GatewayFactory

pytestmark = pytest.mark.services

SERVER = {"name": "gw-01", "flavor": "m1.small", "image": "cirros-0.6"}
SAME = ("content-type", "location", "x-request-id", "idempotent-replayed", "retry-after",
        "www-authenticate", "allow", "preference-applied")  # fmt: skip


@pytest.fixture
async def token(container: Container) -> str:
    return await login(container, "demo", DEMO_PASSWORD, "demo")


def assert_same(via: httpx.Response, direct: httpx.Response) -> None:
    assert via.status_code == direct.status_code, via.text
    assert via.content == direct.content
    for name in SAME:
        assert via.headers.get(name) == direct.headers.get(name), name


class TestUnchanged:
    async def test_200_list_and_get(
        self, gateway: GatewayFactory, client: httpx.AsyncClient, token: str
    ) -> None:
        auth = {"Authorization": f"Bearer {token}"}
        async with gateway() as http:
            for path in ("/api/v1/flavors", "/api/v1/flavors?sort=-vcpus&per_page=2"):
                rid = {"X-Request-ID": f"rid-{abs(hash(path))}"}
                via = await http.get(path, headers={**auth, **rid})
                direct = await client.get(path, headers=rid)
                assert via.status_code == 200
                assert_same(via, direct)
                assert via.headers["x-request-id"] == rid["X-Request-ID"]

    async def test_202_with_location_and_idempotent_replay(
        self, gateway: GatewayFactory, client: httpx.AsyncClient, token: str
    ) -> None:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "gw-create-1"}
        async with gateway() as http:
            created = await http.post("/api/v1/vms", json=SERVER, headers=headers)
            assert created.status_code == 202, created.text
            assert created.headers["location"] == f"/api/v1/vms/{created.json()['id']}"
            replay = await http.post("/api/v1/vms", json=SERVER, headers=headers)
            assert replay.status_code == 202
            assert replay.json()["id"] == created.json()["id"]
            assert replay.headers.get("idempotent-replayed") == "true"
            direct = await client.post("/api/v1/vms", json=SERVER, headers=headers)
            assert direct.json()["id"] == created.json()["id"]
            location = created.headers["location"]
            assert_same(
                await http.get(location, headers={"Authorization": headers["Authorization"],
                                                  "X-Request-ID": "same-1"}),
                await client.get(location, headers={"X-Request-ID": "same-1"}),
            )  # fmt: skip

    async def test_404_401_and_409_problems(
        self, gateway: GatewayFactory, client: httpx.AsyncClient, token: str
    ) -> None:
        auth = {"Authorization": f"Bearer {token}"}
        server = await create_server(client, **SERVER)  # stays BUILD: no worker runs
        async with gateway() as http:
            for method, path, body in (
                ("GET", "/api/v1/vms/00000000-0000-4000-8000-000000000000", None),
                ("POST", f"/api/v1/vms/{server['id']}/actions/start", {}),
                ("DELETE", "/api/v1/flavors/none-such", None),
            ):
                rid = {"X-Request-ID": f"rid-{method}-{len(path)}"}
                via = await http.request(method, path, json=body, headers={**auth, **rid})
                direct = await client.request(method, path, json=body, headers=rid)
                assert via.status_code in (404, 409, 403), via.text
                assert_same(via, direct)
            statuses = {(await http.get("/api/v1/vms/nope", headers=auth)).status_code}
            anonymous = await http.get("/api/v1/vms")
        assert statuses == {404}
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        conflict = await client.post(f"/api/v1/vms/{server['id']}/actions/start", json={})
        assert conflict.status_code == 409

    async def test_a_long_list_comes_back_byte_for_byte(
        self, gateway: GatewayFactory, client: httpx.AsyncClient, token: str
    ) -> None:
        for i in range(30):
            await create_server(client, **{**SERVER, "name": f"gw-{i:02d}"})
        path = "/api/v1/vms?per_page=100&sort=name"
        async with gateway() as http:
            via = await http.get(path, headers={"Authorization": f"Bearer {token}",
                                                "X-Request-ID": "list-1"})  # fmt: skip
        direct = await client.get(path, headers={"X-Request-ID": "list-1"})
        assert len(via.json()["items"]) == 30
        assert_same(via, direct)

    async def test_a_request_id_is_made_when_missing_and_passed_upstream(
        self, gateway: GatewayFactory
    ) -> None:
        async with gateway() as http:
            answer = await http.get("/api/v1/vms")
            bad = await http.get("/api/v1/vms", headers={"X-Request-ID": "bad id\t!"})
        assert answer.headers["x-request-id"].startswith("req-")
        assert answer.json()["request_id"] == answer.headers["x-request-id"]
        assert bad.headers["x-request-id"].startswith("req-")

    async def test_hop_by_hop_headers_are_not_forwarded(self, gateway: GatewayFactory) -> None:
        async with gateway() as http:
            answer = await http.get("/api/v1/vms", headers={"Connection": "keep-alive, X-Secret",
                                                            "X-Secret": "1"})  # fmt: skip
        assert answer.status_code == 401
        assert "transfer-encoding" not in answer.headers


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and reads, but never answers."""
    held: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        with contextlib.suppress(Exception):
            await reader.read(65536)
            await asyncio.sleep(30)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()


class TestUpstreamAway:
    async def test_upstream_down_answers_502_at_once(self, gateway: GatewayFactory) -> None:
        async with gateway(api_url=f"http://127.0.0.1:{closed_port()}") as http:
            started = time.monotonic()
            answer = await http.get("/api/v1/vms", headers={"X-Request-ID": "down-1"})
            elapsed = time.monotonic() - started
            ready = await http.get("/health/ready")
        assert elapsed < 2
        assert answer.status_code == 502
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "5"
        assert answer.json()["code"] == "upstream_unavailable"
        assert answer.json()["request_id"] == "down-1"
        assert ready.status_code == 503
        assert ready.json()["checks"][0]["name"] == "api"

    async def test_a_silent_upstream_answers_504_after_the_read_timeout(
        self, gateway: GatewayFactory
    ) -> None:
        async with (
            silent_server() as port,
            gateway(api_url=f"http://127.0.0.1:{port}", gateway_read_timeout=0.5) as http,
        ):
            started = time.monotonic()
            answer = await http.get("/api/v1/vms")
            elapsed = time.monotonic() - started
        assert 0.4 < elapsed < 3
        assert answer.status_code == 504
        assert answer.headers["retry-after"] == "5"
        assert answer.json()["code"] == "upstream_timeout"

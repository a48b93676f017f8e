"""What the gateway adds at the edge: body limits, per-client rate limits (memory and Redis),
CORS, and its own OpenAPI document."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.integration.gateway.conftest import GatewayFactory, bearer

pytestmark = pytest.mark.services

ORDER = {"user_id": "3", "number_of_items": "5", "total_amount": "180"}


async def chunks(total: int, size: int = 16384) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b" " * piece


class TestBodyLimit:
    @pytest.mark.parametrize("path", ["/api/v1/vms", "/api/billing"])
    async def test_a_declared_length_over_the_limit_answers_413(
        self, gateway: GatewayFactory, path: str
    ) -> None:
        async with gateway(gateway_max_body_bytes=1000) as http:
            answer = await http.post(path, content=b"{" + b" " * 2000 + b"}")
        assert answer.status_code == 413
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "payload_too_large"
        assert answer.json()["request_id"] == answer.headers["x-request-id"]

    @pytest.mark.parametrize("path", ["/api/v1/vms", "/api/billing"])
    async def test_a_streamed_body_is_counted_as_it_arrives(
        self, gateway: GatewayFactory, path: str
    ) -> None:
        async with gateway(gateway_max_body_bytes=50_000) as http:
            answer = await http.post(path, content=chunks(200_000), headers=bearer())
        assert "content-length" not in answer.request.headers  # chunked: no length declared
        assert answer.status_code == 413, answer.text
        assert answer.json()["code"] == "payload_too_large"

    async def test_a_body_under_the_limit_goes_through(self, gateway: GatewayFactory) -> None:
        async with gateway(gateway_max_body_bytes=50_000) as http:
            answer = await http.post("/api/v1/vms", content=chunks(20_000))
        assert answer.status_code == 401  # reached the API, which wants a token


class TestRateLimit:
    async def test_past_the_limit_429_with_retry_after_and_headers(
        self, gateway: GatewayFactory
    ) -> None:
        me, other = bearer(), bearer()
        async with gateway(gateway_rate_limit="3/minute") as http:
            answers = [await http.get("/api/v1/flavors", headers=me) for _ in range(4)]
            someone_else = await http.get("/api/v1/flavors", headers=other)
            health = await http.get("/health")
        assert [a.status_code for a in answers] == [401, 401, 401, 429]
        assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert all(a.headers["x-ratelimit-limit"] == "3" for a in answers)
        refused = answers[-1]
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert int(refused.headers["x-ratelimit-reset"]) >= int(time.time())
        assert someone_else.status_code == 401  # its own bucket
        assert "x-ratelimit-limit" not in health.headers  # only /api/** is limited

    async def test_without_a_token_the_client_address_is_the_key(
        self, gateway: GatewayFactory
    ) -> None:
        async with gateway(gateway_rate_limit="2/minute") as http:
            codes = [(await http.post("/api/billing", json=ORDER)).status_code for _ in range(3)]
        assert codes[-1] == 429

    async def test_two_gateways_share_one_limit_in_redis(
        self, gateway: GatewayFactory, redis_url: str
    ) -> None:
        me = bearer(f"shared-{uuid.uuid4().hex}")
        settings = {"gateway_rate_limit": "4/minute", "redis_url": redis_url}
        async with gateway(**settings) as one, gateway(**settings) as two:
            codes = []
            for http in (one, two, one, two, one, two):
                codes.append((await http.get("/api/v1/flavors", headers=me)).status_code)
            ready = await one.get("/health/ready")
        assert codes == [401, 401, 401, 401, 429, 429]
        assert {c["name"]: c["status"] for c in ready.json()["checks"]}["redis"] == "up"


class TestCors:
    async def test_a_configured_origin_gets_credentials_others_nothing(
        self, gateway: GatewayFactory
    ) -> None:
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, idempotency-key",
        }
        async with gateway(gateway_cors_origins=["https://ui.example"]) as http:
            ok = await http.options("/api/v1/vms", headers={"Origin": "https://ui.example",
                                                             **preflight})  # fmt: skip
            foreign = await http.options("/api/v1/vms", headers={"Origin": "https://evil.example",
                                                                  **preflight})  # fmt: skip
            simple = await http.get("/api/v1/vms", headers={"Origin": "https://ui.example"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://ui.example"
        assert ok.headers["access-control-allow-credentials"] == "true"
        assert "access-control-allow-origin" not in foreign.headers
        assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()

    async def test_a_wildcard_never_allows_credentials(self, gateway: GatewayFactory) -> None:
        async with gateway(gateway_cors_origins=["*"]) as http:
            answer = await http.get("/health", headers={"Origin": "https://any.example"})
        assert answer.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in answer.headers


class TestOpenApi:
    async def test_every_gateway_endpoint_is_described(self, gateway: GatewayFactory) -> None:
        async with gateway(billing_url="http://billing.internal") as http:
            document = (await http.get("/openapi.json")).json()
            docs = await http.get("/docs")
        assert docs.status_code == 200
        paths = document["paths"]
        # The API's own paths (and billing's), not a catch-all: /docs documents the whole API.
        assert {"/health", "/health/ready", "/api/billing", "/api/v1/vms",
                "/api/v1/billing/orders"} <= set(paths)  # fmt: skip
        assert not [path for path in paths if "{path}" in path]
        assert document["components"]["securitySchemes"]
        for path in ("/health", "/health/ready", "/api/billing"):
            for method, operation in paths[path].items():
                assert len(operation.get("description", "")) > 30, (path, method)
        billing = paths["/api/billing"]["post"]
        body = billing["requestBody"]["content"]["application/json"]["schema"]
        assert {"user_id", "number_of_items", "total_amount"} <= set(body["properties"])
        assert set(body["required"]) == {"user_id", "number_of_items", "total_amount"}
        assert {"200", "422", "503"} <= set(billing["responses"])

    async def test_in_process_the_document_carries_the_api_paths(
        self, gateway: GatewayFactory
    ) -> None:
        async with gateway(api_url=None) as http:
            document = (await http.get("/openapi.json")).json()
        assert {"/api/billing", "/api/v1/vms", "/api/v1/vms/{server_id}"} <= set(document["paths"])
        assert "/api/v1/{path}" not in document["paths"]

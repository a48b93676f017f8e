"""The provider's circuit breaker seen through the API: while the cloud keeps failing, requests
that would queue cloud work answer 503 + Retry-After (in this process and in another API
process on the same database), reads go on, /health/ready reports the provider down; after the
pause one trial call closes it again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from tests.builders import assert_problem, create_server
from tests.conftest import (
    DEMO_PASSWORD,
    SharedFakeCloud,
    api_client,
    cloud_provider,
    login,
    make_settings,
)

from stackgate.bootstrap import Container, bootstrap
from stackgate.config import Settings
from stackgate.providers.base import ProviderUnavailable
from stackgate.providers.simulator import SimulatorProvider

RESET = 3.0


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url, provider_breaker_failures=3, provider_breaker_reset_seconds=RESET
    )


async def _trip(container: Container, provider: SimulatorProvider) -> None:
    """The worker's calls fail until the breaker opens (the simulator answers 503)."""
    provider.inject_api_errors(1000)
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            await container.provider.compute.servers()
    provider.faults.clear()


@pytest.fixture
async def second_api(
    request: pytest.FixtureRequest,
    container: Container,
    provider: SimulatorProvider,
    fakecloud: SharedFakeCloud,
) -> AsyncIterator[httpx.AsyncClient]:
    """Another API process: its own composition root (and breaker) on the same database,
    driving the same kind of cloud."""
    async with cloud_provider(request.node, provider, fakecloud) as cloud:
        other = bootstrap(container.settings, engine=container.engine, provider=cloud)
        await other.prepare_identity()
        token = await login(other, "demo", DEMO_PASSWORD, "demo")
        async with api_client(other, token) as http:
            yield http


class TestOpenBreaker:
    async def test_cloud_work_is_refused_with_retry_after_and_nothing_is_written(
        self, client: httpx.AsyncClient, container: Container, provider: SimulatorProvider
    ) -> None:
        await _trip(container, provider)
        refused = await client.post(
            "/api/v1/vms", json={"name": "w", "flavor": "m1.tiny", "image": "cirros-0.6"}
        )
        body = assert_problem(refused, 503, "cloud_unavailable")
        assert 1 <= int(refused.headers["Retry-After"]) <= 1 + RESET
        assert "refused for" in body["detail"]
        listing = await client.get("/api/v1/vms")
        assert listing.status_code == 200
        assert listing.json()["total"] == 0
        volume = await client.post("/api/v1/volumes", json={"name": "v", "size": 1})
        assert_problem(volume, 503, "cloud_unavailable")

    async def test_readiness_reports_the_provider_down(
        self, client: httpx.AsyncClient, container: Container, provider: SimulatorProvider
    ) -> None:
        await _trip(container, provider)
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        checks = {c["name"]: c for c in ready.json()["checks"]}
        assert checks["database"]["status"] == "up"
        assert checks["provider"]["status"] == "down"
        assert "CircuitOpen" in checks["provider"]["error"]

    async def test_another_api_process_refuses_too(
        self,
        client: httpx.AsyncClient,
        container: Container,
        provider: SimulatorProvider,
        second_api: httpx.AsyncClient,
    ) -> None:
        await _trip(container, provider)
        refused = await second_api.post("/api/v1/networks", json={"name": "n"})
        assert_problem(refused, 503, "cloud_unavailable")
        assert refused.headers["Retry-After"]

    async def test_a_successful_trial_closes_it(
        self,
        client: httpx.AsyncClient,
        container: Container,
        provider: SimulatorProvider,
        second_api: httpx.AsyncClient,
    ) -> None:
        await _trip(container, provider)
        await asyncio.sleep(RESET + 0.1)
        ready = await client.get("/health/ready")  # the probe is the trial call
        assert ready.status_code == 200, ready.text
        server = await create_server(client, name="after")
        assert server["status"] == "BUILD"
        await asyncio.sleep(1.1)  # the other process's cached view of the shared row
        accepted = await second_api.post("/api/v1/networks", json={"name": "n"})
        assert accepted.status_code == 202, accepted.text

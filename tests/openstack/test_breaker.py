"""The circuit breaker around the OpenStack provider, with the fake cloud told to fail over its
own test hook (`POST /fakecloud/faults`): repeated 503s open it, calls then fail fast without
reaching the cloud, and a trial after the pause closes it once the cloud answers again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from stackgate.providers.base import ProviderNotFound, ProviderUnavailable
from stackgate.providers.breaker import (
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    GuardedProvider,
)
from stackgate.providers.openstack import OpenStackProvider
from stackgate.providers.openstack.session import CloudSession
from stackgate.providers.simulator import SimulatorProvider
from tests.openstack.conftest import FAKE_PASSWORD, connect_kwargs

RESET = 1.0


async def tell_the_fake(fake_url: str, faults: dict[str, object]) -> None:
    """What an operator's test would do: the fake's fault hook, with an admin token."""
    async with httpx.AsyncClient(base_url=fake_url) as http:
        login = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": "admin",
                            "domain": {"name": "Default"},
                            "password": FAKE_PASSWORD,
                        }
                    },
                },
                "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}},
            }
        }
        issued = await http.post("/v3/auth/tokens", json=login)
        assert issued.status_code == 201, issued.text
        token = issued.headers["X-Subject-Token"]
        told = await http.post("/fakecloud/faults", json=faults, headers={"X-Auth-Token": token})
        assert told.status_code == 204, told.text


@pytest.fixture
async def guarded(fake_url: str) -> AsyncIterator[GuardedProvider]:
    # One attempt per read, so each call is one request and the counts below are exact.
    session = CloudSession(connect_kwargs=connect_kwargs(fake_url), threads=2, read_attempts=1)
    provider = GuardedProvider(
        OpenStackProvider(session), CircuitBreaker(failures=3, reset_seconds=RESET)
    )
    await provider.check()  # authenticated and discovered while the cloud answers
    yield provider
    await provider.close()


async def test_the_fake_failing_opens_the_breaker_and_calls_fail_fast(
    guarded: GuardedProvider, fake_url: str, sim: SimulatorProvider
) -> None:
    await tell_the_fake(fake_url, {"api_errors": 3})
    for _ in range(3):
        with pytest.raises(ProviderUnavailable) as failed:
            await guarded.compute.servers()
        assert not isinstance(failed.value, CircuitOpen)
        assert "503" in failed.value.message or "Simulated API failure" in failed.value.message
    assert guarded.breaker.state is BreakerState.OPEN

    # The fake would fail these too; the breaker answers before they are sent.
    await tell_the_fake(fake_url, {"api_errors": 50})
    for _ in range(5):
        with pytest.raises(CircuitOpen):
            await guarded.network.networks()
    with pytest.raises(CircuitOpen):
        await guarded.check()
    assert sim.faults.pending_api_errors == 50  # none of those calls reached the cloud


async def test_a_trial_after_the_pause_closes_it_when_the_cloud_is_back(
    guarded: GuardedProvider, fake_url: str
) -> None:
    await tell_the_fake(fake_url, {"api_errors": 3})
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            await guarded.compute.servers()
    await asyncio.sleep(RESET + 0.1)
    assert guarded.breaker.state is BreakerState.HALF_OPEN
    networks = await guarded.network.networks()
    assert "public" in [n.name for n in networks]
    assert guarded.breaker.state is BreakerState.CLOSED


async def test_the_clouds_refusals_do_not_open_it(guarded: GuardedProvider) -> None:
    for _ in range(5):
        with pytest.raises(ProviderNotFound):
            await guarded.compute.get_server("00000000-0000-4000-8000-000000000000")
    assert guarded.breaker.state is BreakerState.CLOSED

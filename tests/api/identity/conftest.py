"""Persona fixtures for the identity tier: tenants made through the admin API."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from tests.api.identity.personas import Cast, Tenant

from stackgate.bootstrap import Container


@pytest.fixture
async def cast(container: Container, admin_client: httpx.AsyncClient) -> AsyncIterator[Cast]:
    async with contextlib.AsyncExitStack() as stack:
        yield Cast(container, admin_client, stack)


@pytest.fixture
async def tenant_a(cast: Cast) -> Tenant:
    """Project alpha with a reader, a member and a manager (default quotas)."""
    return await cast.tenant("alpha")


@pytest.fixture
async def tenant_b(cast: Cast) -> Tenant:
    """Project bravo, alpha's neighbour."""
    return await cast.tenant("bravo")

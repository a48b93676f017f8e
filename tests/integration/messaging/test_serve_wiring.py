"""How `stackgate serve` wires billing into the API app (create_app(..., billing=True)) behind
the gateway, in-process over ASGI: without a broker, orders go straight to billing and billing's
subscriber receives the relay's events; with a broker, billing's consumers run in the process.
The lifespan's end closes billing and removes its subscriber."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from stackgate.app import create_app
from stackgate.bootstrap import Container
from stackgate.config import Settings
from stackgate.events import subscribers
from stackgate.gateway.app import create_gateway
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, login
from tests.integration.helpers import eventually
from tests.messaging_fixtures import temporary_vhost

pytestmark = pytest.mark.services

ORDER = {"user_id": "3", "number_of_items": "5", "total_amount": "180"}


@contextlib.asynccontextmanager
async def serving(settings: Settings, container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway with the API (and billing) mounted, its lifespan running."""
    api_app = create_app(settings, container=container, billing=True)
    gateway = create_gateway(settings, api_app=api_app, configure_logs=False)
    async with gateway.router.lifespan_context(gateway):
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve") as http:
            yield http
    assert api_app.state.billing is None


def settings_for(container: Container, tmp_path: Path, **values: Any) -> Settings:
    return container.settings.model_copy(
        update={"billing_database_url": f"sqlite+aiosqlite:///{tmp_path / 'billing.db'}", **values}
    )


def event(event_type: str, at: datetime, project_id: str, **payload: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "project_id": project_id,
        "user_id": "u",
        "resource_type": "server",
        "resource_id": "srv-1",
        "payload": payload,
    }


async def test_without_a_broker_orders_and_events_reach_the_billing_in_this_process(
    container: Container, tmp_path: Path
) -> None:
    settings = settings_for(container, tmp_path, broker_url=None)
    before = len(subscribers.default_registry)
    admin = {"Authorization": f"Bearer {await login(container, 'admin', ADMIN_PASSWORD, 'admin')}"}
    demo_token = await login(container, "demo", DEMO_PASSWORD, "demo")
    async with serving(settings, container) as http:
        assert len(subscribers.default_registry) == before + 1
        assert (await http.post("/api/billing", json=ORDER)).status_code == 200
        assert (await http.post("/api/billing/", json=ORDER)).status_code == 200
        orders = await http.get("/api/v1/billing/orders", headers=admin)
        assert orders.status_code == 200, orders.text
        assert orders.json()["total"] == 2

        me = await http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {demo_token}"})
        project = me.json()["project"]["id"]
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
        flavor = {"flavor_name": "m1.small", "vcpus": 1, "ram_mb": 2048, "disk_gb": 20}
        await subscribers.default_registry.deliver(
            event("compute.instance.create.end", start, project, **flavor)
        )
        await subscribers.default_registry.deliver(
            event("compute.instance.delete.end", start + timedelta(minutes=5), project)
        )
        usage = await http.get(
            f"/api/v1/billing/projects/{project}/usage",
            headers={"Authorization": f"Bearer {demo_token}"},
        )
        assert usage.status_code == 200, usage.text
        (row,) = usage.json()["resources"]
        assert (row["resource_id"], Decimal(row["seconds"])) == ("srv-1", Decimal(300))
        assert Decimal(usage.json()["total"]) > 0
    assert len(subscribers.default_registry) == before


async def test_with_a_broker_billing_consumers_run_in_this_process(
    container: Container, tmp_path: Path
) -> None:
    with temporary_vhost("stackgate-test-wiring") as vhost:
        settings = settings_for(container, tmp_path, broker_url=vhost.url)
        before = len(subscribers.default_registry)
        admin = {
            "Authorization": f"Bearer {await login(container, 'admin', ADMIN_PASSWORD, 'admin')}"
        }
        async with serving(settings, container) as http:
            assert len(subscribers.default_registry) == before  # events come over RabbitMQ
            assert (await http.post("/api/billing", json=ORDER)).status_code == 200

            async def stored() -> bool:
                answer = await http.get("/api/v1/billing/orders", headers=admin)
                return bool(answer.json()["total"] == 1)

            await eventually(stored, within=10)

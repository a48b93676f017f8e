"""Billing inside one process (`stackgate serve`, or any gateway with no broker / no billing URL).

    billing = inprocess.build(settings, api_app=api_app)
    billing.app                            # the billing API to mount at /api/v1/billing
    await billing.deliver_order(body, message_id)   # the gateway's DeliverOrder (no broker)
    await billing.subscriber(event_dict)   # registered with stackgate.events.subscribers

Orders and events go through the same parsing and service code as the RabbitMQ consumers (same
validation, same insert-if-absent on the message/event id). The billing database is upgraded on
first use, so mounting without running a lifespan is enough.

Tokens on the billing API are checked by the control plane: at STACKGATE_API_URL when set,
else by the API app mounted in this process (`api_app`, called in-process over ASGI), else by an
`auth` given (e.g. the container's AuthService); with none of these the routes answer 503.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from functools import cached_property
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp

from stackgate.billing.app import BillingRuntime, billing_api
from stackgate.billing.auth import RemoteAuthenticator
from stackgate.billing.messages import InvalidMessage, event_from_dict, parse_order
from stackgate.billing.service import BillingService
from stackgate.config import Settings
from stackgate.core.clock import Clock
from stackgate.core.deps import Authenticator
from stackgate.core.errors import InvalidInput

log = structlog.get_logger("stackgate.billing")


class InvalidOrder(InvalidInput):
    code = "invalid_order"
    title = "Invalid billing message"


class InProcessBilling:
    def __init__(self, runtime: BillingRuntime) -> None:
        self.runtime = runtime
        self._started = False
        self._lock = asyncio.Lock()
        self._unsubscribe: Any = None

    @property
    def service(self) -> BillingService:
        return self.runtime.service

    @property
    def auth(self) -> Authenticator:
        return self.runtime.auth

    @cached_property
    def app(self) -> FastAPI:
        """The billing API on this in-process billing (no lifespan needed)."""
        return billing_api(runtime=self)

    async def ensure_started(self) -> None:
        """Upgrade the billing database once, on first use."""
        if self._started:
            return
        async with self._lock:
            if not self._started:
                await self.runtime.migrate()
                self._started = True

    async def start(self) -> None:
        await self.ensure_started()

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self.runtime.close()

    async def check_database(self) -> None:
        await self.runtime.check_database()

    async def deliver_order(self, body: bytes | str | Mapping[str, Any], message_id: str) -> None:
        """Store one billing message (what POST /api/billing accepted), once per message_id.
        Raises InvalidOrder (400) when the body breaks the rules; a database failure raises
        as is (the caller answers 503: nothing was accepted)."""
        if isinstance(body, Mapping):
            raw = json.dumps(dict(body)).encode()
        else:
            raw = body.encode() if isinstance(body, str) else body
        try:
            order = parse_order(raw, message_id=message_id)
        except InvalidMessage as exc:
            raise InvalidOrder(exc.reason) from None
        await self.ensure_started()
        await self.service.record_orders([order])

    submit_order = deliver_order

    async def subscriber(self, event: Mapping[str, Any]) -> None:
        """An events subscriber for the in-process relay. A malformed event is logged and
        dropped (there is no dead-letter queue in-process, and retrying cannot fix it); a
        database failure raises, so the relay keeps the event and hands it over again."""
        try:
            parsed = event_from_dict(dict(event))
        except InvalidMessage as exc:
            log.error(
                "billing dropped a malformed event",
                reason=exc.reason,
                event_id=str(event.get("event_id"))[:64],
            )
            return
        await self.ensure_started()
        await self.service.record_events([parsed])


def _authenticator(settings: Settings, api_app: ASGIApp | None) -> Authenticator | None:
    if settings.api_url or api_app is None:
        return None  # BillingRuntime.build: remote at api_url, else 503
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api_app), base_url="http://api", timeout=10
    )
    return RemoteAuthenticator(
        "http://api", cache_seconds=settings.auth_cache_seconds, client=client
    )


def build(
    settings: Settings,
    *,
    api_app: ASGIApp | None = None,
    auth: Authenticator | None = None,
    clock: Clock | None = None,
    subscribe: bool | None = None,
) -> InProcessBilling:
    """In-process billing from settings. With no broker configured (or `subscribe=True`) its
    subscriber is registered with stackgate.events.subscribers, so the relay hands it events."""
    billing = InProcessBilling(
        BillingRuntime.build(settings, auth=auth or _authenticator(settings, api_app), clock=clock)
    )
    if subscribe if subscribe is not None else settings.broker_url is None:
        from stackgate.events import subscribers

        billing._unsubscribe = subscribers.register(billing.subscriber)
    return billing

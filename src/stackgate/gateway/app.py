"""create_gateway(settings): the gateway application, wiring only.

Where `/api/v1/**` goes: STACKGATE_API_URL when set (over HTTP, see proxy.py), else the
control-plane app mounted in this process (what `stackgate serve` runs: no HTTP hop, the API's
own answer passes through the gateway's middleware). `/api/v1/billing/**` goes to
STACKGATE_BILLING_URL, or to a billing app mounted in-process, else answers 503.

Middleware, outermost first: request id, CORS, rate limit, body limit, then the in-process
dispatch of mounted apps, then the gateway's own routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from stackgate import __version__
from stackgate.config import Settings
from stackgate.core.docs import install_docs
from stackgate.core.logging import configure_logging
from stackgate.core.problem import install_problem_handlers
from stackgate.gateway import routes
from stackgate.gateway.billing_publish import (
    AmqpBillingPublisher,
    BillingPublisher,
    DeliverOrder,
    InProcessBillingPublisher,
    NoBillingPublisher,
)
from stackgate.gateway.middleware import BodyLimitMiddleware, RequestIdMiddleware
from stackgate.gateway.proxy import Upstream
from stackgate.gateway.ratelimit import RateLimiter, RateLimitMiddleware, build_storage

API_PREFIX = "/api/v1"
BILLING_PREFIX = "/api/v1/billing"
EXPOSED_HEADERS = [
    "Location",
    "Retry-After",
    "X-Request-ID",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Idempotent-Replayed",
    "Preference-Applied",
]
ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "Prefer", "X-Request-ID"]

DESCRIPTION = """
The StackGate gateway: the one entry point of a StackGate installation.

- `/api/v1/**` is routed to the control-plane API and `/api/v1/billing/**` to the billing
  service; their answers come back unchanged (status, headers, streamed body).
- `POST /api/billing` publishes an order to RabbitMQ's `billing_queue` and answers only once the
  broker confirmed it.
- Every answer carries `X-Request-ID` (yours, or a new one, also passed upstream). Requests under
  `/api/` are rate limited per client (the bearer token's subject, else the client address) and
  answer `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`; past the limit,
  429 with `Retry-After`. Bodies over the configured limit answer 413. A service behind the
  gateway that is unreachable answers 502, one that is too slow 504, both with `Retry-After`.
  Errors are RFC 9457 `application/problem+json` with a stable `code`.
"""


class MountedDispatch:
    """Sends /api/v1/** straight to the apps mounted in this process; the rest to the gateway."""

    def __init__(
        self, app: ASGIApp, api: ASGIApp | None, billing: ASGIApp | None, billing_remote: bool
    ) -> None:
        self.app = app
        self.api = api
        self.billing = billing
        self.billing_remote = billing_remote

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            billing = path == BILLING_PREFIX or path.startswith(BILLING_PREFIX + "/")
            if billing and self.billing_remote:
                await self.app(scope, receive, send)  # the forwarding routes
                return
            if billing and self.billing is not None:
                await self.billing(scope, receive, send)
                return
            # /api/v1/billing without a billing app of its own: the mounted API may serve it
            # in-process (it answers 404 if it does not).
            if self.api is not None and (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
                await self.api(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _publisher(settings: Settings, mounted_api: FastAPI | None) -> BillingPublisher:
    if settings.broker_url:
        return AmqpBillingPublisher(
            settings.broker_url,
            publish_timeout=settings.gateway_publish_timeout,
            connect_timeout=settings.gateway_connect_timeout,
        )
    if mounted_api is not None:
        return InProcessBillingPublisher(_in_process_billing(mounted_api))
    return NoBillingPublisher()


def _in_process_billing(api_app: FastAPI) -> DeliverOrder:
    """`stackgate serve` without a broker: the in-process billing (stackgate.billing.inprocess)
    that the API app keeps as `app.state.billing` takes the order; looked up per call, since the
    API builds it in its lifespan."""

    async def deliver(body: bytes, message_id: str) -> None:
        billing = getattr(api_app.state, "billing", None)
        if billing is None:
            await NoBillingPublisher().publish(body, message_id=message_id)
            return
        await billing.submit_order(body, message_id=message_id)

    return deliver


def _upstream(
    settings: Settings, name: str, url: str, transport: httpx.AsyncBaseTransport | None
) -> Upstream:
    return Upstream(
        name,
        url,
        connect_timeout=settings.gateway_connect_timeout,
        read_timeout=settings.gateway_read_timeout,
        max_connections=settings.gateway_max_connections,
        transport=transport,
    )


def create_gateway(
    settings: Settings,
    *,
    api_app: FastAPI | None = None,
    billing_app: FastAPI | None = None,
    publisher: BillingPublisher | None = None,
    api_transport: httpx.AsyncBaseTransport | None = None,
    billing_transport: httpx.AsyncBaseTransport | None = None,
    configure_logs: bool = True,
    extra_checks: dict[str, Callable[[], Awaitable[None]]] | None = None,
) -> FastAPI:
    """The gateway. With STACKGATE_API_URL unset, `api_app` (default: create_app(settings)) is
    mounted in this process and its lifespan runs inside the gateway's; the same for
    `billing_app` when STACKGATE_BILLING_URL is unset. `publisher` overrides where
    POST /api/billing goes (serve: the in-process billing consumer). The transports are for
    tests (an app over httpx.ASGITransport)."""
    mounted_api: FastAPI | None = None
    if settings.api_url is None:
        if api_app is None:
            from stackgate.app import create_app

            api_app = create_app(settings)
        mounted_api = api_app
    mounted_billing = billing_app if settings.billing_url is None else None
    state = routes.Gateway(
        publisher=publisher or _publisher(settings, mounted_api),
        limiter=RateLimiter(settings.gateway_rate_limit, build_storage(settings.redis_url)),
        redis_configured=settings.redis_url is not None,
        api=_upstream(settings, "api", settings.api_url, api_transport)
        if settings.api_url
        else None,
        billing=_upstream(settings, "billing", settings.billing_url, billing_transport)
        if settings.billing_url
        else None,
        mounted_api=mounted_api,
        mounted_billing=mounted_billing,
        extra_checks=dict(extra_checks or {}),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if configure_logs:
            configure_logging(settings.log_level, json=settings.log_json)
        # httpx logs every proxied request at INFO: the access line says it already.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        async with contextlib.AsyncExitStack() as stack:
            for mounted in (mounted_api, mounted_billing):
                if mounted is not None:
                    await stack.enter_async_context(mounted.router.lifespan_context(mounted))
            await state.publisher.start()
            try:
                yield
            finally:
                for upstream in (state.api, state.billing):
                    if upstream is not None:
                        await upstream.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(state.publisher.close(), 5)

    app = FastAPI(
        title="StackGate gateway",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url=None,  # served from the package by install_docs, not from a CDN
        redoc_url=None,
    )
    app.state.gateway = state
    install_problem_handlers(app)
    app.include_router(routes.health_router)
    install_docs(app)
    app.include_router(routes.billing_router)
    if state.billing is not None:
        # A remote API's document (below) holds billing's paths: no catch-all stands in for them.
        app.include_router(
            routes.forwarding_router(
                BILLING_PREFIX,
                "billing",
                routes.BILLING_DESCRIPTION,
                documented=state.api is None,
            )
        )
    elif mounted_billing is None and mounted_api is None:
        app.add_api_route(
            BILLING_PREFIX + "/{path:path}",
            _billing_not_configured,
            methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            include_in_schema=False,
        )
    sources = [_given(mounted) for mounted in (mounted_api, mounted_billing) if mounted]
    if state.api is not None:
        # Documented by the API's own paths (below), not by the catch-all that forwards them.
        app.include_router(
            routes.forwarding_router(API_PREFIX, "api", routes.API_DESCRIPTION, documented=False)
        )
        sources.append(_remote_api_document(settings, billing=state.billing is not None))
    app.openapi = _merged_openapi(app, sources)  # type: ignore[method-assign]

    app.add_middleware(
        MountedDispatch,
        api=mounted_api,
        billing=mounted_billing,
        billing_remote=state.billing is not None,
    )
    app.add_middleware(BodyLimitMiddleware, limit=settings.gateway_max_body_bytes)
    app.add_middleware(RateLimitMiddleware, limiter=state.limiter)
    if settings.gateway_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.gateway_cors_origins,
            # Never credentials with a wildcard origin (the CORS spec forbids the pair).
            allow_credentials="*" not in settings.gateway_cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"],
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=600,
        )
    app.add_middleware(RequestIdMiddleware)
    return app


async def _billing_not_configured(request: Request) -> None:
    from stackgate.gateway.errors import BillingUnavailable

    raise BillingUnavailable(
        "the billing service is not configured (STACKGATE_BILLING_URL) and does not run in "
        "this process"
    )


def _merged_openapi(
    app: FastAPI, sources: list[Callable[[], FastAPI]]
) -> Callable[[], dict[str, Any]]:
    """The gateway's own document plus every /api/v1 path of the apps behind it, so /docs
    describes (and authorizes) the whole API wherever it runs. `sources` give the apps: those
    mounted in this process, or, when the API runs elsewhere, the same API built here for its
    document only (never started: no database, no worker)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        paths = document.setdefault("paths", {})
        components = document.setdefault("components", {})
        for source in sources:
            other = source().openapi()
            for path, item in other.get("paths", {}).items():
                # Only what the gateway routes to it: its own /health answers stay its own.
                if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
                    paths.setdefault(path, item)
            for kind, entries in other.get("components", {}).items():
                components.setdefault(kind, {}).update(entries)
        app.openapi_schema = document
        return document

    return openapi


def _given(app: FastAPI) -> Callable[[], FastAPI]:
    return lambda: app


def _remote_api_document(settings: Settings, *, billing: bool) -> Callable[[], FastAPI]:
    """The API app (with billing's routes when the gateway routes billing), built on the first
    request for /openapi.json: the gateway describes what STACKGATE_API_URL serves."""

    def build() -> FastAPI:
        from stackgate.app import create_app

        return create_app(settings, run_worker=False, billing=billing)

    return build

"""create_app(settings): wiring only: routers, error handlers, middleware, lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import Depends, FastAPI
from starlette.types import Scope

from stackgate import __version__
from stackgate.billing.routes import router as billing_router
from stackgate.bootstrap import Container, bootstrap
from stackgate.config import Settings
from stackgate.core.deps import cloud_available, refuse_nul
from stackgate.core.docs import install_docs
from stackgate.core.health import router as health_router
from stackgate.core.logging import configure_logging
from stackgate.core.middleware import (
    AuditMiddleware,
    AuditSink,
    OperationLinkMiddleware,
    RequestIdMiddleware,
)
from stackgate.core.problem import install_problem_handlers
from stackgate.features import FEATURES
from stackgate.identity.seed import SeedResult

DESCRIPTION = """
StackGate: one REST API for servers on OpenStack clouds (and on the built-in simulator).

Errors are RFC 9457 `application/problem+json` with a stable `code`. Every response carries
`X-Request-ID`. Asynchronous operations answer `202 Accepted`; send `Prefer: wait=N` to wait up
to N seconds for the end state, and `Idempotency-Key` to make a create safe to retry.
"""


def announce(seeded: SeedResult) -> None:
    """Passwords made up at the first start, once (they are stored only hashed): a warning,
    so that it is written at any log level, in the process's one log format."""
    shown = {
        who: password
        for who, password in (("admin", seeded.admin_password), ("demo", seeded.demo_password))
        if password
    }
    if shown:
        structlog.get_logger("stackgate").warning(
            "first start: generated passwords, shown only now (reset one with "
            "`stackgate admin reset-password USER`)",
            **{f"{who}_password": password for who, password in shown.items()},
        )


def create_app(
    settings: Settings,
    *,
    container: Container | None = None,
    run_worker: bool | None = None,
    billing: bool = False,
) -> FastAPI:
    """The API application. A given container is used as is (and not closed here).

    `billing=True` (`stackgate serve`) runs billing in this process too: its API at
    /api/v1/billing, `app.state.billing` taking the gateway's POST /api/billing orders, and its
    usage consumer fed by the in-process relay (no broker) or by RabbitMQ (broker configured)."""
    owns_container = container is None
    embedded = settings.embedded_worker if run_worker is None else run_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owns_container:
            configure_logging(settings.log_level, json=settings.log_json)
            app.state.container = bootstrap(settings)
        async with contextlib.AsyncExitStack() as stack:
            if owns_container:
                stack.push_async_callback(app.state.container.close)
            if billing:
                # Before the worker starts, so the relay finds billing's subscriber at once.
                await stack.enter_async_context(_in_process_billing(app, settings))
            if owns_container:
                announce(await app.state.container.start(worker=embedded))
            yield

    app = FastAPI(
        title="StackGate",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],
        docs_url=None,  # served from the package by install_docs, not from a CDN
        redoc_url=None,
    )
    if container is not None:
        app.state.container = container
    install_problem_handlers(app)
    app.add_middleware(OperationLinkMiddleware)
    app.add_middleware(AuditMiddleware, sink=_audit_sink)
    app.add_middleware(RequestIdMiddleware)
    # The routers whose changes the worker carries to the cloud.
    cloud_work = [Depends(cloud_available)]
    app.include_router(health_router)
    install_docs(app)
    for feature in FEATURES:
        for router in feature.routers():
            app.include_router(router)
        for router in feature.cloud_routers():
            app.include_router(router, dependencies=cloud_work)
    if billing:
        app.include_router(billing_router)
    return app


@asynccontextmanager
async def _in_process_billing(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """Billing inside the API process: `app.state.billing` (the gateway's POST /api/billing
    hands it orders; the billing routes read it), tokens checked by the container's
    AuthService. No broker: its subscriber is registered with stackgate.events.subscribers, so
    the relay hands it every event. A broker: its two consumers run here instead."""
    from stackgate.billing import inprocess
    from stackgate.billing.app import consumer_config
    from stackgate.billing.consumer import BillingConsumers

    billing = inprocess.build(settings, auth=app.state.container.auth)
    consumers: BillingConsumers | None = None
    try:
        await billing.start()  # upgrades the billing database; fails the start if it cannot
        if settings.broker_url:
            consumers = BillingConsumers(
                settings.broker_url, billing.service, consumer_config(settings)
            )
            consumers.start()
        app.state.billing = billing
        yield
    finally:
        app.state.billing = None
        if consumers is not None:
            await consumers.stop()
        await billing.close()  # also unregisters its events subscriber


def _audit_sink(scope: Scope) -> AuditSink | None:
    container = getattr(scope["app"].state, "container", None)
    return None if container is None else container.audit

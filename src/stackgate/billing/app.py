"""The billing process: its parts built from Settings, and its HTTP app (`stackgate billing`).

The app serves /health, /health/ready (database and broker) and /api/v1/billing, and runs the
two consumers (billing_queue, billing_usage) in its lifespan. Tokens are checked by the control
plane at STACKGATE_API_URL (or by an authenticator handed in, e.g. the in-process AuthService).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from stackgate import __version__
from stackgate.billing.auth import RemoteAuthenticator
from stackgate.billing.consumer import AfterCommit, BillingConsumers, ConsumerConfig
from stackgate.billing.migrate import upgrade_billing
from stackgate.billing.prices import load_price_list
from stackgate.billing.routes import router
from stackgate.billing.service import BillingService
from stackgate.config import Settings
from stackgate.core.clock import Clock
from stackgate.core.db import create_engine, create_sessionmaker, ensure_sqlite_dir
from stackgate.core.deps import Authenticator
from stackgate.core.docs import install_docs
from stackgate.core.errors import ServiceUnavailable
from stackgate.core.logging import configure_logging
from stackgate.core.middleware import RequestIdMiddleware
from stackgate.core.problem import install_problem_handlers

DEFAULT_PORT = 8090


class _NoAuthenticator:
    async def authenticate(self, token: str, *, request_id: str | None) -> Any:
        raise ServiceUnavailable("STACKGATE_API_URL is not set: billing cannot check tokens")


@dataclass
class BillingRuntime:
    """Billing's long-lived parts: engine, service, authenticator."""

    settings: Settings
    engine: AsyncEngine
    service: BillingService
    auth: Authenticator
    owns_engine: bool = True

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        engine: AsyncEngine | None = None,
        auth: Authenticator | None = None,
        clock: Clock | None = None,
    ) -> BillingRuntime:
        owns_engine = engine is None
        if engine is None:
            ensure_sqlite_dir(settings.billing_database_url)
            engine = create_engine(
                settings.billing_database_url,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
            )
        if auth is None:
            auth = (
                RemoteAuthenticator(settings.api_url, cache_seconds=settings.auth_cache_seconds)
                if settings.api_url
                else _NoAuthenticator()
            )
        service = BillingService(
            create_sessionmaker(engine),
            prices=load_price_list(settings.billing_prices),
            clock=clock,
        )
        return cls(settings, engine, service, auth, owns_engine)

    async def migrate(self) -> None:
        await upgrade_billing(self.engine)

    async def check_database(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        if isinstance(self.auth, RemoteAuthenticator):
            await self.auth.close()
        if self.owns_engine:
            await self.engine.dispose()


def consumer_config(settings: Settings) -> ConsumerConfig:
    return ConsumerConfig(
        prefetch=settings.billing_prefetch, retry_seconds=settings.billing_retry_seconds
    )


async def _probe(name: str, check: Any) -> dict[str, str]:
    try:
        await asyncio.wait_for(check(), 3.0)
    except Exception as exc:
        return {"name": name, "status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"name": name, "status": "up"}


async def _started(request: Request) -> None:
    """In-process billing upgrades its database on first use (it may run without a lifespan)."""
    ensure = getattr(request.app.state.billing, "ensure_started", None)
    if ensure is not None:
        await ensure()


def billing_api(
    *, lifespan: Any = None, runtime: BillingRuntime | Any = None, consumers: Any = None
) -> FastAPI:
    """The billing HTTP app: /health, /health/ready and /api/v1/billing. `runtime` (anything
    with `.service`, `.auth` and `.check_database`) may be set now or by the lifespan."""
    app = FastAPI(
        title="StackGate billing",
        version=__version__,
        description="Orders from billing_queue and rated usage from the event stream.",
        lifespan=lifespan,
        dependencies=[Depends(_started)],
        docs_url=None,  # served from the package by install_docs, not from a CDN
        redoc_url=None,
    )
    install_docs(app)
    if runtime is not None:
        app.state.billing = runtime
        app.state.consumers = consumers
    install_problem_handlers(app)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(router)

    @app.get("/health", tags=["health"])
    async def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    @app.get("/health/ready", tags=["health"])
    async def ready(request: Request) -> JSONResponse:
        """Readiness: the billing database and (when configured) the broker answer."""
        probes = [_probe("database", request.app.state.billing.check_database)]
        if request.app.state.consumers is not None:
            probes.append(_probe("broker", request.app.state.consumers.check))
        checks = await asyncio.gather(*probes)
        ok = all(c["status"] == "up" for c in checks)
        body = {"status": "ready" if ok else "unavailable", "checks": list(checks)}
        headers = {} if ok else {"Retry-After": "5"}
        return JSONResponse(body, status_code=200 if ok else 503, headers=headers)

    return app


def create_billing_app(
    settings: Settings,
    *,
    runtime: BillingRuntime | None = None,
    migrate: bool = True,
    after_commit: AfterCommit | None = None,
) -> FastAPI:
    """The billing service: HTTP API plus, with a broker configured, both consumers."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level, json=settings.log_json)
        built = runtime or BillingRuntime.build(settings)
        if migrate:
            await built.migrate()
        consumers = None
        if settings.broker_url:
            consumers = BillingConsumers(
                settings.broker_url,
                built.service,
                consumer_config(settings),
                after_commit=after_commit,
            )
            consumers.start()
        app.state.billing = built
        app.state.consumers = consumers
        try:
            yield
        finally:
            if consumers is not None:
                await consumers.stop()
            if runtime is None:
                await built.close()

    app = billing_api(lifespan=lifespan)
    return app

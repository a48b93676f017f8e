"""Test harness: one real database per run (SQLite, PostgreSQL or MariaDB), upgraded with
Alembic to head, dropped at the end; every test starts from the seeded catalog only.

Pick the database with STACKGATE_TEST_DATABASE=sqlite|postgresql|mariadb (default sqlite).
A configured server that cannot be reached fails the run: it never silently skips.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import State

from stackgate.app import create_app
from stackgate.bootstrap import Container, bootstrap
from stackgate.config import Settings
from stackgate.core.context import DEFAULT_PROJECT_ID
from stackgate.core.db import create_engine
from stackgate.core.logging import configure_logging
from stackgate.db_models import CORE_TABLES, FEATURE_TABLES, Base
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.runner import running_fakecloud
from stackgate.features import FEATURES
from stackgate.identity.models import (
    QuotaLimit,
)
from stackgate.identity.tokens.schemas import TokenRequest
from stackgate.migrate import upgrade_engine
from stackgate.providers.base import Provider
from stackgate.providers.openstack import OpenStackProvider
from stackgate.providers.openstack.session import CloudSession
from stackgate.providers.simulator import SimulatorProvider

ADMIN_PASSWORD = "admin-password-1"
DEMO_PASSWORD = "demo-password-1"
BACKEND = os.environ.get("STACKGATE_TEST_DATABASE", "sqlite")
# `openstack`: in the API suite StackGate drives the cloud through its OpenStack provider
# (openstacksdk over HTTP) against `stackgate fakecloud` serving the same simulator the tests
# inspect. The tests of other folders, and those booting an image only StackGate's catalog has
# (`catalog_only_image`), keep driving the simulator directly.
PROVIDER = os.environ.get("STACKGATE_TEST_PROVIDER", "simulator")
PG_ADMIN = os.environ.get("STACKGATE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432")
MY_ADMIN = os.environ.get("STACKGATE_TEST_MYSQL_URL", "mysql+aiomysql://root@127.0.0.1:3306")


TIER_FOLDERS = ("unit", "api", "integration", "e2e", "openstack", "cli")


def pytest_configure(config: pytest.Config) -> None:
    """Log as every StackGate process does (make_settings: JSON, WARNING). Left unconfigured,
    structlog renders each logged exception as a rich traceback with every frame's locals,
    which took seconds per failure the tests inject."""
    configure_logging("WARNING", json=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its folder's tier, before `-m` selects what a tier runs."""
    root = Path(__file__).parent
    for item in items:
        folder = item.path.relative_to(root).parts[0]
        if folder in TIER_FOLDERS:
            item.add_marker(folder)


async def _admin_execute(admin_url: str, database: str, statement: str) -> None:
    engine = create_engine(
        admin_url + ("/postgres" if admin_url.startswith("postgresql") else "/mysql")
    )
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(statement.format(db=database)))
    except Exception as exc:
        pytest.fail(f"{BACKEND} test server unreachable at {admin_url}: {exc}", pytrace=False)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A fresh database for this run (per xdist worker), dropped afterwards."""
    name = f"sg_test_{uuid.uuid4().hex[:12]}"
    if BACKEND == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "stackgate.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    if BACKEND == "postgresql":
        await _admin_execute(PG_ADMIN, name, 'CREATE DATABASE "{db}"')
        yield f"{PG_ADMIN}/{name}"
        await _admin_execute(PG_ADMIN, name, 'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        return
    if BACKEND == "mariadb":
        await _admin_execute(MY_ADMIN, name, "CREATE DATABASE `{db}`")
        yield f"{MY_ADMIN}/{name}"
        await _admin_execute(MY_ADMIN, name, "DROP DATABASE IF EXISTS `{db}`")
        return
    pytest.fail(f"unknown STACKGATE_TEST_DATABASE={BACKEND!r}", pytrace=False)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=20, max_overflow=20)
    await upgrade_engine(engine)
    yield engine
    await engine.dispose()


async def clean_database(engine: AsyncEngine) -> None:
    """Back to the seeded catalog: tests commit for real (the worker and the concurrency
    tests need separate sessions), so they clean up instead of rolling back. Every table the
    features and the ground floor declare, children first; the seeded rows stay, as the cloud
    had never seen them."""
    declared = {model.__table__: model for model in (*FEATURE_TABLES, *CORE_TABLES)}
    seeded = {model.__table__: keep for f in FEATURES for model, keep in f.seeded.items()}
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table not in declared:
                continue
            keep = seeded.get(table)
            if keep is None:
                await conn.execute(table.delete())
                continue
            await conn.execute(table.delete().where(~keep()))
            if "provider_id" in table.c:
                await conn.execute(table.update().where(keep()).values(provider_id=None))


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "sim_speed": 0,
        "sim_seed": 42,
        "sim_database_url": "sqlite+aiosqlite://",
        "worker_poll_interval": 0.05,
        "log_json": True,
        "log_level": "WARNING",
        "password_hash_fast": True,
        "admin_password": ADMIN_PASSWORD,
        "demo_password": DEMO_PASSWORD,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def provider(settings: Settings) -> AsyncIterator[SimulatorProvider]:
    sim = SimulatorProvider.from_settings(settings)
    await sim.start()
    yield sim
    await sim.close()


class FakeCloudProvider(OpenStackProvider):
    """The OpenStack provider on the fake cloud, keeping the simulator's test hooks
    (`fail_call`, `inject_api_errors`, ...) reachable where tests call them on the provider."""

    def __init__(self, session: CloudSession, sim: SimulatorProvider) -> None:
        super().__init__(session)
        self._sim = sim

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sim, name)


FAKE_CLOUD_PASSWORD = "fake-cloud-password"


class SharedFakeCloud:
    """`stackgate fakecloud` on a real port, started once per run (its server, not its state):
    each test puts its own simulator behind it, so every test still meets a cloud of its own."""

    def __init__(self) -> None:
        self._stack = contextlib.AsyncExitStack()
        self._fake: FakeCloud | None = None
        self._url = ""

    async def serve(self, sim: SimulatorProvider) -> str:
        """The fake's root URL, with `sim` behind it from now on."""
        if self._fake is None:
            # The cloud leaves quotas to StackGate (the suite tests StackGate's own), and has
            # only what StackGate makes in it, as the simulator has.
            self._fake = FakeCloud(
                sim=sim,
                admin_password=FAKE_CLOUD_PASSWORD,
                devstack_networks=False,
                enforce_quotas=False,
            )
            self._url = await self._stack.enter_async_context(running_fakecloud(self._fake))
        self._fake.sim = sim
        self._fake.revoked.clear()
        return self._url

    async def close(self) -> None:
        await self._stack.aclose()


@pytest.fixture(scope="session")
async def fakecloud() -> AsyncIterator[SharedFakeCloud]:
    shared = SharedFakeCloud()
    yield shared
    await shared.close()


def through_openstack(test: pytest.Item) -> bool:
    """Whether `test` drives the cloud through the OpenStack provider (STACKGATE_TEST_PROVIDER)."""
    if PROVIDER not in ("simulator", "openstack"):
        pytest.fail(f"unknown STACKGATE_TEST_PROVIDER={PROVIDER!r}", pytrace=False)
    marked = test.get_closest_marker
    return PROVIDER == "openstack" and bool(marked("api")) and not marked("catalog_only_image")


@contextlib.asynccontextmanager
async def cloud_provider(
    test: pytest.Item, sim: SimulatorProvider, fakecloud: SharedFakeCloud
) -> AsyncIterator[Provider]:
    """What StackGate drives in `test`: the simulator itself, or the OpenStack provider
    talking to the simulator through `stackgate fakecloud` on a real port."""
    if not through_openstack(test):
        yield sim
        return
    url = await fakecloud.serve(sim)
    session = CloudSession(
        connect_kwargs={
            "auth_url": f"{url}/v3",
            "username": "admin",
            "password": FAKE_CLOUD_PASSWORD,
            "project_name": "admin",
            "user_domain_name": "Default",
            "project_domain_name": "Default",
            "region_name": "RegionOne",
        },
        threads=8,
    )
    openstack_provider = FakeCloudProvider(session, sim)
    try:
        yield openstack_provider
    finally:
        await openstack_provider.close()


@pytest.fixture
async def container(
    request: pytest.FixtureRequest,
    settings: Settings,
    engine: AsyncEngine,
    provider: SimulatorProvider,
    fakecloud: SharedFakeCloud,
) -> AsyncIterator[Container]:
    """The composition root on the test database; no background worker (tests drain it)."""
    async with cloud_provider(request.node, provider, fakecloud) as cloud:
        await clean_database(engine)
        built = bootstrap(settings, engine=engine, provider=cloud)
        await built.prepare_identity()
        # The demo project (the default `client`'s) is unlimited: quota tests use their own.
        await set_quotas(built, DEFAULT_PROJECT_ID, instances=-1, cores=-1, ram=-1)
        yield built
        built._stop.set()
        await clean_database(engine)


async def set_quotas(container: Container, project_id: str, **limits: int) -> None:
    async with container.sessionmaker() as session, session.begin():
        for resource, limit in limits.items():
            await session.merge(
                QuotaLimit(project_id=project_id, resource=resource, hard_limit=limit)
            )


async def login(
    container: Container, username: str, password: str, project: str | None = None
) -> str:
    """A bearer token, issued the way POST /api/v1/auth/tokens issues it."""
    issued = await container.auth.issue(
        TokenRequest(username=username, password=password, project=project), address="test"
    )
    return issued.token


@functools.cache
def _routed_app() -> FastAPI:
    """The API app with its routes resolved, built once per run (see app_for)."""
    return create_app(make_settings("sqlite+aiosqlite://"))


def app_for(container: Container) -> FastAPI:
    """The API app serving `container`.

    FastAPI resolves every route of a router (dependencies, body and response fields) on an
    app's first request, which cost more than most tests themselves. The routes are the same for
    every container, so the app is built once per run and each container gets a shallow copy of
    it: the same resolved routes, its own state and middleware stack. (The copies never run the
    app's lifespan: the container is the test's, started and closed by its fixtures.)"""
    app = copy.copy(_routed_app())
    app.state = State()
    app.state.container = container
    app.middleware_stack = None
    return app


def api_client(container: Container, token: str | None) -> httpx.AsyncClient:
    """An HTTP client on the in-process app, logged in when given a token."""
    app = app_for(container)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """The demo user: a member of the demo project."""
    token = await login(container, "demo", DEMO_PASSWORD, "demo")
    async with api_client(container, token) as http:
        yield http


@pytest.fixture
async def admin_client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """The cloud admin (admin role on the admin project)."""
    token = await login(container, "admin", ADMIN_PASSWORD, "admin")
    async with api_client(container, token) as http:
        yield http


OTHER_PASSWORD = "other-password-1"


@pytest.fixture
async def other_client(
    admin_client: httpx.AsyncClient, container: Container
) -> AsyncIterator[httpx.AsyncClient]:
    """A member of a second project, made through the identity API (tenancy tests)."""
    project = await admin_client.post("/api/v1/projects", json={"name": "other"})
    assert project.status_code == 201, project.text
    user = await admin_client.post(
        "/api/v1/users", json={"name": "olga", "password": OTHER_PASSWORD}
    )
    assert user.status_code == 201, user.text
    grant = await admin_client.post(
        f"/api/v1/projects/{project.json()['id']}/members",
        json={"user_id": user.json()["id"], "role": "member"},
    )
    assert grant.status_code == 201, grant.text
    token = await login(container, "olga", OTHER_PASSWORD, "other")
    async with api_client(container, token) as http:
        yield http


@pytest.fixture
async def anonymous_client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(container, None) as http:
        yield http

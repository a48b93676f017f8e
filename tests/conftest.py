"""Test harness: one real database per run (SQLite, PostgreSQL or MariaDB), upgraded with
Alembic to head, dropped at the end; every test starts from the seeded catalog only.

Pick the database with STACKGATE_TEST_DATABASE=sqlite|postgresql|mariadb (default sqlite).
A configured server that cannot be reached fails the run: it never silently skips.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncEngine

from stackgate.app import create_app
from stackgate.bootstrap import Container, bootstrap
from stackgate.catalog.models import Flavor, Image
from stackgate.compute.models import Server
from stackgate.config import Settings
from stackgate.core.db import create_engine
from stackgate.core.idempotency import IdempotencyRecord
from stackgate.core.ids import stable_id
from stackgate.core.operations import Operation
from stackgate.migrate import upgrade_engine
from stackgate.providers.simulator import SimulatorProvider

BACKEND = os.environ.get("STACKGATE_TEST_DATABASE", "sqlite")
PG_ADMIN = os.environ.get("STACKGATE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432")
MY_ADMIN = os.environ.get("STACKGATE_TEST_MYSQL_URL", "mysql+aiomysql://root@127.0.0.1:3306")
SEEDED_FLAVORS = [
    stable_id(f"flavor/{n}") for n in ("m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge")
]
SEEDED_IMAGES = [
    stable_id(f"image/{n}") for n in ("cirros-0.6", "ubuntu-22.04", "debian-12", "fedora-40")
]


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
    tests need separate sessions), so they clean up instead of rolling back."""
    async with engine.begin() as conn:
        for table in (IdempotencyRecord, Operation, Server):
            await conn.execute(delete(table))
        await conn.execute(delete(Image).where(Image.id.not_in(SEEDED_IMAGES)))
        await conn.execute(delete(Flavor).where(Flavor.id.not_in(SEEDED_FLAVORS)))


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "sim_speed": 0,
        "sim_seed": 42,
        "sim_database_url": "sqlite+aiosqlite://",
        "worker_poll_interval": 0.05,
        "log_json": True,
        "log_level": "WARNING",
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


@pytest.fixture
async def container(
    settings: Settings, engine: AsyncEngine, provider: SimulatorProvider
) -> AsyncIterator[Container]:
    """The composition root on the test database; no background worker (tests drain it)."""
    await clean_database(engine)
    built = bootstrap(settings, engine=engine, provider=provider)
    yield built
    built._stop.set()
    await clean_database(engine)


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container.settings, container=container)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http

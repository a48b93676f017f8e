"""Alembic, driven from code: `stackgate migrate`, `serve` and the test harness use it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from stackgate.core.db import create_engine, ensure_sqlite_dir

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade_with(connection: Connection) -> None:
    command.upgrade(alembic_config(connection=connection), "head")


async def upgrade_engine(engine: AsyncEngine) -> None:
    """Upgrade the database behind `engine` to head, from inside a running event loop."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade_with)


def upgrade(url: str) -> None:
    """Upgrade the database at `url` to head (creates a SQLite file's directory)."""
    ensure_sqlite_dir(url)

    async def run() -> None:
        engine = create_engine(url)
        try:
            await upgrade_engine(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())

"""The billing database's schema: Alembic with its own tree (stackgate/billing/migrations) and
its own version table, so it never mixes with the control plane's even on a shared server."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    config.attributes["connection"] = connection
    return config


def _upgrade_with(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


async def upgrade_billing(engine: AsyncEngine) -> None:
    """Upgrade the billing database behind `engine` to head (idempotent; serialised on
    PostgreSQL by an advisory lock, so replicas may start together)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade_with)

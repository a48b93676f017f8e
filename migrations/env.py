"""Alembic environment: async engines, or a connection handed in by stackgate.migrate."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from stackgate.core.db import create_engine
from stackgate.db_models import Base

target_metadata = Base.metadata
config = context.config

if config.cmd_opts is not None:
    # Run by the `alembic` command itself: log as StackGate does. Under `stackgate migrate` or
    # `serve` (stackgate.migrate, no cmd_opts) the process has configured logging already.
    from stackgate.config import get_settings
    from stackgate.core.logging import configure_logging

    _settings = get_settings()
    configure_logging(_settings.log_level, json=_settings.log_json)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    _run(connection)
else:
    asyncio.run(_run_async(str(config.get_main_option("sqlalchemy.url"))))

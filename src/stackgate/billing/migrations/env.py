"""Alembic environment of the billing database (its own tree and version table)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from stackgate.billing.models import BillingBase

VERSION_TABLE = "billing_alembic_version"
# Two billing processes starting together on one database upgrade one after the other.
_LOCK_KEY = 0x5354_4B42  # "STKB"


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    context.configure(
        connection=connection,
        target_metadata=BillingBase.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run billing migrations through stackgate.billing.migrate")
_run(connection)

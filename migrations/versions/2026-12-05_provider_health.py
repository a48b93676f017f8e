"""provider_health: the provider's circuit breaker, shared by the worker and the API

Revision ID: 9c3f4e2a7b10
Revises: 5e1c0a7d2b94
Create Date: 2026-12-05 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from stackgate.core.db import UTCDateTime

revision: str = "9c3f4e2a7b10"
down_revision: str | None = "5e1c0a7d2b94"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_health",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("open_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_provider_health")),
    )


def downgrade() -> None:
    op.drop_table("provider_health")

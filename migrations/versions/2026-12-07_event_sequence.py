"""event_sequence and outbox_event.seq/summary: the live event stream's gap-free order

Revision ID: 3b8d51c6e0f2
Revises: 9c3f4e2a7b10
Create Date: 2026-12-07 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b8d51c6e0f2"
down_revision: str | None = "9c3f4e2a7b10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_event") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("summary", sa.JSON(), nullable=True))
        batch.create_index("ix_outbox_event_seq", ["seq"], unique=True)
    table = op.create_table(
        "event_sequence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("purged_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_sequence")),
    )
    op.bulk_insert(table, [{"id": 1, "last_seq": 0, "purged_seq": 0}])


def downgrade() -> None:
    op.drop_table("event_sequence")
    with op.batch_alter_table("outbox_event") as batch:
        batch.drop_index("ix_outbox_event_seq")
        batch.drop_column("summary")
        batch.drop_column("seq")

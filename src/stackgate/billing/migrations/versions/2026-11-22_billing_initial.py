"""billing: orders, usage events, resources and periods

Revision ID: billing_0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stackgate.core.db import UTCDateTime

revision = "billing_0001"
down_revision = None
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("number_of_items", sa.Integer(), nullable=False),
        sa.Column("total_amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("message_id", name="uq_orders_message_id"),
    )
    op.create_index("ix_orders_user_id", "orders", ["user_id"])
    op.create_table(
        "usage_event",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=True),
        sa.Column("user_id", sa.String(255), nullable=True),
        sa.Column("resource_type", sa.String(64), nullable=True),
        sa.Column("resource_id", sa.String(255), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_usage_event"),
    )
    op.create_index("ix_usage_event_resource", "usage_event", ["resource_id", "occurred_at"])
    op.create_table(
        "usage_resource",
        sa.Column("resource_id", sa.String(255), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("resource_id", name="pk_usage_resource"),
    )
    op.create_table(
        "usage_period",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("resource_id", sa.String(255), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("flavor_name", sa.String(255), nullable=True),
        sa.Column("vcpus", sa.Integer(), nullable=True),
        sa.Column("size_gb", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_usage_period"),
    )
    op.create_index("ix_usage_period_resource_id", "usage_period", ["resource_id"])
    op.create_index("ix_usage_period_project", "usage_period", ["project_id", "started_at"])


def downgrade() -> None:
    op.drop_table("usage_period")
    op.drop_table("usage_resource")
    op.drop_table("usage_event")
    op.drop_table("orders")

"""Billing's own database (STACKGATE_BILLING_DATABASE_URL): its own declarative base and
metadata, never mixed with the control plane's (migrations in stackgate/billing/migrations,
version table `billing_alembic_version`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from stackgate.core.db import NAMING_CONVENTION, UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY.
AutoId = BigInteger().with_variant(Integer(), "sqlite")


class BillingBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Order(BillingBase):
    """One message of billing_queue (seed 004's `orders` table, plus its message id)."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    number_of_items: Mapped[int] = mapped_column(Integer)
    total_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    received_at: Mapped[datetime]


class UsageEvent(BillingBase):
    """Every event of stackgate.events, stored once."""

    __tablename__ = "usage_event"
    __table_args__ = (Index("ix_usage_event_resource", "resource_id", "occurred_at"),)

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime]
    project_id: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    resource_type: Mapped[str | None] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]


class UsageResource(BillingBase):
    """One row per rated resource: locked while its periods are recomputed, so two consumers
    handling events of the same resource take turns."""

    __tablename__ = "usage_resource"

    resource_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime]


class UsagePeriod(BillingBase):
    """A stretch of time a resource ran at one size (derived from its events)."""

    __tablename__ = "usage_period"
    __table_args__ = (Index("ix_usage_period_project", "project_id", "started_at"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    resource_id: Mapped[str] = mapped_column(String(255), index=True)
    resource_type: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    flavor_name: Mapped[str | None] = mapped_column(String(255))
    vcpus: Mapped[int | None] = mapped_column(Integer)
    size_gb: Mapped[int | None] = mapped_column(Integer)

"""Block-storage tables: volumes (with their single attachment) and volume snapshots."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stackgate.core.db import Base, IdMixin, TimestampMixin, VersionMixin


class Volume(IdMixin, TimestampMixin, VersionMixin, Base):
    """A Cinder volume. Rows are removed when the cloud has deleted the volume; the audit trail
    and the operation log keep its history."""

    __tablename__ = "volume"
    __table_args__ = (
        Index("ix_volume_project_created", "project_id", "created_at", "id"),
        Index("ix_volume_project_status", "project_id", "status"),
    )

    project_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str | None] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str | None] = mapped_column(Text)
    size_gb: Mapped[int] = mapped_column(Integer)
    volume_type: Mapped[str] = mapped_column(String(64))
    # Cinder statuses: creating, available, reserved, attaching, in-use, detaching, extending,
    # deleting, error (semantics/cinder.py).
    status: Mapped[str] = mapped_column(String(32))
    image_id: Mapped[str | None] = mapped_column(String(36))
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    # The one attachment (no multiattach): the server, the device it shows as, and whether
    # it is that server's root disk (which cannot be detached, as in Nova).
    server_id: Mapped[str | None] = mapped_column(String(36), index=True)
    device: Mapped[str | None] = mapped_column(String(32))
    is_root: Mapped[bool] = mapped_column(Boolean, default=False)
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    attached_at: Mapped[datetime | None] = mapped_column()
    provider_id: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)


class VolumeSnapshot(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "volume_snapshot"
    __table_args__ = (
        Index("ix_volume_snapshot_project_created", "project_id", "created_at", "id"),
    )

    project_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str | None] = mapped_column(String(36))
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str | None] = mapped_column(Text)
    size_gb: Mapped[int] = mapped_column(Integer)
    # creating, available, deleting, error
    status: Mapped[str] = mapped_column(String(32))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)

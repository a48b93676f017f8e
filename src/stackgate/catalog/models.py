"""Catalog tables: flavors (Nova) and images (Glance)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stackgate.core.db import Base, IdMixin, TimestampMixin, VersionMixin


class Flavor(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "flavor"

    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    vcpus: Mapped[int] = mapped_column(Integer)
    ram_mb: Mapped[int] = mapped_column(Integer)
    disk_gb: Mapped[int] = mapped_column(Integer)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)


class Image(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "image"
    __table_args__ = (Index("ix_image_name", "name"),)

    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    # Glance statuses: queued -> saving -> active; killed on a failed upload.
    status: Mapped[str] = mapped_column(String(32), default="active")
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    disk_format: Mapped[str] = mapped_column(String(16), default="qcow2")
    container_format: Mapped[str] = mapped_column(String(16), default="bare")
    os_distro: Mapped[str | None] = mapped_column(String(64))
    min_disk_gb: Mapped[int] = mapped_column(Integer, default=0)
    min_ram_mb: Mapped[int] = mapped_column(Integer, default=0)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    owner_project_id: Mapped[str | None] = mapped_column(String(36))
    image_type: Mapped[str | None] = mapped_column(String(16))
    source_server_id: Mapped[str | None] = mapped_column(String(36))
    provider_id: Mapped[str | None] = mapped_column(String(64))

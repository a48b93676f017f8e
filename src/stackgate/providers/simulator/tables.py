"""The simulated cloud's own tables (its own MetaData, every name prefixed `sim_`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from stackgate.core.db import NAMING_CONVENTION, UTCDateTime


class SimBase(DeclarativeBase):
    """Separate from the control plane's Base: the simulator is another cloud, not our data."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class SimServer(SimBase):
    """A Nova instance plus the operation the simulated compute service is working on."""

    __tablename__ = "sim_server"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # `metadata` is reserved on declarative classes, hence the attribute name.
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    flavor: Mapped[dict[str, Any]] = mapped_column(JSON)
    old_flavor: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    image_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    vm_state: Mapped[str] = mapped_column(String(32))
    task_state: Mapped[str | None] = mapped_column(String(48), nullable=True)
    power_state: Mapped[int] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    # Rows are removed when a delete completes, so this unique key covers live servers only.
    ip_address: Mapped[str | None] = mapped_column(String(45), nullable=True, unique=True)
    fault: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    launched_at: Mapped[datetime | None] = mapped_column(nullable=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    # The pending operation, resolved lazily once `ends_at` has passed.
    action: Mapped[str | None] = mapped_column(String(32), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    will_fail: Mapped[bool] = mapped_column(Boolean, default=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SimImage(SimBase):
    """A Glance image made by a snapshot."""

    __tablename__ = "sim_image"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    server_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime]
    ready_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SimHypervisor(SimBase):
    """A compute host and its capacity."""

    __tablename__ = "sim_hypervisor"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    ram_mb: Mapped[int] = mapped_column(Integer)
    disk_gb: Mapped[int] = mapped_column(Integer)

"""The server table: desired and observed state of each VM, with a copy of its flavor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stackgate.core.db import Base, IdMixin, TimestampMixin, VersionMixin
from stackgate.semantics.nova import PowerState, derive_status


class Server(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "server"
    __table_args__ = (
        # Keyset paging and status filters stay index-only at millions of rows.
        Index("ix_server_project_status_created", "project_id", "status", "created_at", "id"),
        Index("ix_server_project_created", "project_id", "created_at", "id"),
        Index("ix_server_project_name", "project_id", "name"),
    )

    project_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str | None] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    key_name: Mapped[str | None] = mapped_column(String(255))
    user_data: Mapped[str | None] = mapped_column(Text)

    flavor_id: Mapped[str | None] = mapped_column(String(36), index=True)
    flavor_name: Mapped[str] = mapped_column(String(255))
    vcpus: Mapped[int] = mapped_column(Integer)
    ram_mb: Mapped[int] = mapped_column(Integer)
    disk_gb: Mapped[int] = mapped_column(Integer)
    # The flavor before a resize, kept until confirm or revert (Nova's old_flavor).
    old_flavor: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    image_id: Mapped[str | None] = mapped_column(String(36), index=True)
    image_name: Mapped[str | None] = mapped_column(String(255))

    vm_state: Mapped[str] = mapped_column(String(32))
    task_state: Mapped[str | None] = mapped_column(String(32))
    power_state: Mapped[int] = mapped_column(Integer, default=PowerState.NOSTATE)
    # Derived from (vm_state, task_state) by nova.derive_status; stored only to be indexed.
    status: Mapped[str] = mapped_column(String(32))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_reason: Mapped[str | None] = mapped_column(String(255))

    ip_address: Mapped[str | None] = mapped_column(String(64))
    host: Mapped[str | None] = mapped_column(String(255))
    provider_id: Mapped[str | None] = mapped_column(String(64))

    fault_code: Mapped[int | None] = mapped_column(Integer)
    fault_message: Mapped[str | None] = mapped_column(Text)
    fault_created_at: Mapped[datetime | None] = mapped_column()

    launched_at: Mapped[datetime | None] = mapped_column()
    deleted_at: Mapped[datetime | None] = mapped_column()

    def set_state(
        self, vm_state: str, task_state: str | None, power_state: int | None = None
    ) -> None:
        """The only writer of the state triple, so `status` can never disagree with it."""
        self.vm_state = vm_state
        self.task_state = task_state
        if power_state is not None:
            self.power_state = power_state
        self.status = derive_status(vm_state, task_state)

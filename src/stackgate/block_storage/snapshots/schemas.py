"""Volume snapshot bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, Field

from stackgate.core.pagination import PageMeta
from stackgate.core.schemas import Description, Flag, Input, Name, Output, Ref


class SnapshotCreate(Input):
    volume_id: Ref = Field(description="The volume to snapshot (its id).")
    name: Name | None = None
    description: Description | None = None
    force: Flag = Field(False, description="Snapshot an in-use volume too (Cinder's force=true).")


class SnapshotRead(Output):
    id: str
    project_id: str
    volume_id: str
    name: str
    description: str | None
    size: int = Field(validation_alias=AliasChoices("size_gb", "size"))
    status: str
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class SnapshotList(PageMeta):
    items: list[SnapshotRead]

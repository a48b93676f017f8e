"""Application credential request and response bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from stackgate.core.schemas import DateTime, Description, Input, Name, Output


class CredentialCreate(Input):
    name: Name
    description: Description | None = None
    expires_at: DateTime | None = None


class CredentialRead(Output):
    id: str
    name: str
    description: str | None
    project_id: str
    user_id: str
    expires_at: datetime | None
    created_at: datetime


class CredentialCreated(CredentialRead):
    secret: str = Field(description="Shown once; only a hash is kept.")


class CredentialList(Output):
    items: list[CredentialRead]

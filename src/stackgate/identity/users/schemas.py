"""User request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from stackgate.core.pagination import PageMeta
from stackgate.core.schemas import Flag, Input, Name, Output, Text
from stackgate.identity.schemas import Password

NewPassword = Annotated[Text, StringConstraints(min_length=8, max_length=1024)]
# Not built on Text: a pattern added on top of a validated type is left out of the JSON schema.
Email = Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")]


class UserCreate(Input):
    name: Name
    password: NewPassword
    email: Email | None = None
    enabled: Flag = True


class UserUpdate(Input):
    name: Name | None = None
    email: Email | None = None
    enabled: Flag | None = None
    password: NewPassword | None = Field(None, description="Admins may reset a password.")


class PasswordChange(Input):
    original_password: Password
    password: NewPassword


class UserRead(Output):
    id: str
    domain_id: str
    name: str
    email: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime
    version: int


class UserList(PageMeta):
    items: list[UserRead]

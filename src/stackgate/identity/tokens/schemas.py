"""Token request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from stackgate.core.schemas import Input, Name, Output
from stackgate.identity.schemas import Password


def _method(*fields: str) -> dict[str, Any]:
    return {"required": list(fields), "properties": {f: {"type": "string"} for f in fields}}


class TokenRequest(Input):
    """Password login scoped to a project, or an application credential."""

    # The schema says what _one_method checks: exactly one of the two ways to log in.
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                _method("username", "password"),
                _method("application_credential_id", "application_credential_secret"),
            ]
        }
    )

    username: Name | None = None
    password: Password | None = None
    project: Name | None = Field(
        None, description="Project name or id; may be left out when the user has only one."
    )
    domain: Name = "Default"
    application_credential_id: Name | None = None
    application_credential_secret: Password | None = None

    @model_validator(mode="after")
    def _one_method(self) -> TokenRequest:
        password = self.username is not None and self.password is not None
        credential = (
            self.application_credential_id is not None
            and self.application_credential_secret is not None
        )
        if password == credential:
            raise ValueError(
                "give either username, password and project, or "
                "application_credential_id and application_credential_secret"
            )
        return self


class TokenRead(Output):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_at: datetime
    user: UserRef
    project: ProjectRef
    roles: list[str]


class UserRef(Output):
    id: str
    name: str


class ProjectRef(Output):
    id: str
    name: str


class MeRead(Output):
    user: UserRef
    project: ProjectRef
    roles: list[str]
    expires_at: datetime
    is_admin: bool


TokenRead.model_rebuild()

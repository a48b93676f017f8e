"""Identity request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from stackgate.core.pagination import PageMeta
from stackgate.core.schemas import DateTime, Description, Flag, Input, Name, Output, Text
from stackgate.identity.quotas import DEFAULT_QUOTAS

Password = Annotated[Text, StringConstraints(min_length=1, max_length=1024)]
NewPassword = Annotated[Text, StringConstraints(min_length=8, max_length=1024)]
# Not built on Text: a pattern added on top of a validated type is left out of the JSON schema.
Email = Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")]
TenantRole = Literal["reader", "member", "manager", "admin"]


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


class ProjectCreate(Input):
    name: Name
    description: Description | None = None
    enabled: Flag = True


class ProjectUpdate(Input):
    name: Name | None = None
    description: Description | None = None
    enabled: Flag | None = None


class ProjectRead(Output):
    id: str
    domain_id: str
    name: str
    description: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime
    version: int


class ProjectList(PageMeta):
    items: list[ProjectRead]


class MemberGrant(Input):
    user_id: Name
    role: TenantRole


class MemberUpdate(Input):
    role: TenantRole


class MemberRead(Output):
    user_id: str
    user_name: str
    project_id: str
    role: str


class MemberList(Output):
    items: list[MemberRead]


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


class QuotaEntry(Output):
    limit: int = Field(description="-1 means unlimited.")
    in_use: int


class QuotaRead(Output):
    project_id: str
    quotas: dict[str, QuotaEntry]


class QuotaUpdate(Input):
    quotas: Annotated[
        dict[
            Annotated[str, StringConstraints(max_length=64)],
            Annotated[int, Field(ge=-1, le=2**31 - 1)],
        ],
        # Documented; the service names an unknown one in its 400.
        Field(json_schema_extra={"propertyNames": {"enum": list(DEFAULT_QUOTAS)}}),
    ]


TokenRead.model_rebuild()

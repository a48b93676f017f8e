"""Identity request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from stackgate.core.pagination import PageMeta
from stackgate.core.schemas import Description, Input, Name, Output, Text

Password = Annotated[Text, StringConstraints(min_length=1, max_length=1024)]
NewPassword = Annotated[Text, StringConstraints(min_length=8, max_length=1024)]
Email = Annotated[Text, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
TenantRole = Literal["reader", "member", "manager", "admin"]


class TokenRequest(Input):
    """Password login scoped to a project, or an application credential."""

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
    enabled: bool = True


class ProjectUpdate(Input):
    name: Name | None = None
    description: Description | None = None
    enabled: bool | None = None


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
    enabled: bool = True


class UserUpdate(Input):
    name: Name | None = None
    email: Email | None = None
    enabled: bool | None = None
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
    expires_at: datetime | None = None


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
    quotas: dict[
        Annotated[str, StringConstraints(max_length=64)], Annotated[int, Field(ge=-1, le=2**31 - 1)]
    ]


TokenRead.model_rebuild()

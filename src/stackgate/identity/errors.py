"""Identity errors."""

from __future__ import annotations

from stackgate.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthorized,
)


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    title = "Invalid credentials"

    def __init__(self) -> None:
        super().__init__("the username, password or project is not valid")


class TooManyAttempts(RateLimited):
    code = "too_many_attempts"
    title = "Too many failed attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after} s", retry_after)


class ProjectNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("project", ref)


class UserNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("user", ref)


class CredentialNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("application credential", ref)


class NameTaken(Conflict):
    code = "name_taken"
    title = "Name already in use"

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"a {kind} named {name!r} already exists in this domain", field="name")


class ProjectNotEmpty(Conflict):
    code = "project_not_empty"
    title = "Project not empty"

    def __init__(self, project_id: str, in_use: dict[str, int]) -> None:
        used = ", ".join(f"{k}={v}" for k, v in in_use.items() if v)
        super().__init__(
            f"project {project_id} still owns resources ({used}); delete them first", in_use=in_use
        )


class RoleNotGrantable(Forbidden):
    code = "role_not_grantable"
    title = "Role not grantable"

    def __init__(self, role: str) -> None:
        super().__init__(f"you may not grant the {role} role", role=role)


class AdminRoleOutsideAdminProject(InvalidInput):
    code = "admin_role_is_cloud_wide"
    title = "admin is a cloud-wide role"

    def __init__(self) -> None:
        super().__init__(
            "admin is cloud-wide and is granted only on the admin project; "
            "use manager for a project's own administrator",
            field="role",
        )


class QuotaExceeded(Forbidden):
    code = "quota_exceeded"
    title = "Quota exceeded"

    def __init__(self, resource: str, limit: int, in_use: int, requested: int) -> None:
        super().__init__(
            f"quota exceeded for {resource}: limit {limit}, in use {in_use}, requested {requested}",
            resource=resource,
            limit=limit,
            in_use=in_use,
            requested=requested,
        )


class LastAdmin(Conflict):
    code = "last_admin"
    title = "Last cloud admin"

    def __init__(self) -> None:
        super().__init__("this would leave the cloud without an enabled admin")

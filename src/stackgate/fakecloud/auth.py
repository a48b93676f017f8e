"""Tokens of the fake Keystone and the `Caller` every other service's route depends on.

Tokens are HS256 JWTs standing in for Fernet tokens: self-contained, checked by signature and
expiry, carrying user, project and roles (implied roles expanded, as Keystone lists them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.errors import CloudError, service_of, unauthorized


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request: keystonemiddleware's X-User-Id / X-Project-Id / X-Roles."""

    token: str
    user_id: str
    user_name: str
    project_id: str | None
    project_name: str | None
    roles: tuple[str, ...]
    expires_at: datetime
    issued_at: datetime
    audit_id: str
    methods: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        """`context_is_admin` is role:admin, on any project: cloud-wide."""
        return "admin" in self.roles

    @property
    def can_write(self) -> bool:
        return "member" in self.roles or self.is_admin


def issue(
    cloud: FakeCloud,
    *,
    user_id: str,
    user_name: str,
    project_id: str | None,
    project_name: str | None,
    roles: tuple[str, ...],
    methods: tuple[str, ...],
) -> tuple[str, Caller]:
    now = datetime.now(UTC).replace(microsecond=0)
    expires = now + timedelta(seconds=cloud.token_ttl_seconds)
    audit = uuid.uuid4().hex[:22]
    claims: dict[str, Any] = {
        "sub": user_id,
        "usr": user_name,
        "prj": project_id,
        "prn": project_name,
        "rol": list(roles),
        "mth": list(methods),
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "aud": audit,
    }
    token = jwt.encode(claims, cloud.token_key, algorithm="HS256")
    return token, Caller(
        token, user_id, user_name, project_id, project_name, roles, expires, now, audit, methods
    )


def verify(cloud: FakeCloud, token: str | None) -> Caller | None:
    """The caller a token names, or None when it is missing, forged, expired or revoked."""
    if not token or token in cloud.revoked:
        return None
    try:
        claims = jwt.decode(
            token, cloud.token_key, algorithms=["HS256"], options={"verify_aud": False}
        )
    except jwt.PyJWTError:
        return None
    return Caller(
        token=token,
        user_id=claims["sub"],
        user_name=claims["usr"],
        project_id=claims.get("prj"),
        project_name=claims.get("prn"),
        roles=tuple(claims.get("rol", ())),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        issued_at=datetime.fromtimestamp(claims["iat"], UTC),
        audit_id=claims["aud"],
        methods=tuple(claims.get("mth", ("password",))),
    )


def get_cloud(request: Request) -> FakeCloud:
    cloud: FakeCloud = request.app.state.cloud
    return cloud


def get_caller(request: Request) -> Caller:
    """The project-scoped caller of a Nova/Glance/Neutron/Cinder request (else 401)."""
    caller = verify(get_cloud(request), request.headers.get("X-Auth-Token"))
    if caller is None or caller.project_id is None:
        raise unauthorized()
    return caller


def require_writer(request: Request) -> Caller:
    """A caller allowed to change its project's resources (member or above; readers: 403)."""
    caller = get_caller(request)
    if not caller.can_write:
        raise CloudError(
            service_of(request.url.path),
            403,
            "Policy doesn't allow this operation to be performed.",
        )
    return caller


def require_admin(request: Request) -> Caller:
    caller = get_caller(request)
    if not caller.is_admin:
        raise CloudError(
            service_of(request.url.path),
            403,
            "Policy doesn't allow this operation to be performed.",
        )
    return caller


CloudDep = Annotated[FakeCloud, Depends(get_cloud)]
CallerDep = Annotated[Caller, Depends(get_caller)]
WriterDep = Annotated[Caller, Depends(require_writer)]
AdminDep = Annotated[Caller, Depends(require_admin)]


def base_url(request: Request) -> str:
    """Where the client reached us (the catalog's and the links' host and port)."""
    return str(request.base_url).rstrip("/")


def visible(caller: Caller, owner: str | None, *, shared: bool = False) -> bool:
    """Whether `caller` may see a resource owned by project `owner` (404 otherwise)."""
    return caller.is_admin or shared or owner is None or owner == caller.project_id

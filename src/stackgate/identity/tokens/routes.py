"""Token routes: log in (/auth/tokens, the OAuth2 form at /auth/token) and /auth/me."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, status

from stackgate.core.deps import PROJECT_SCOPE_PREFIX, ContextDep, policy_doc
from stackgate.core.errors import InvalidInput
from stackgate.core.problem import problem_responses
from stackgate.identity.tokens.schemas import MeRead, TokenRead, TokenRequest
from stackgate.identity.tokens.service import AuthService, IssuedToken


async def _auth(request: Request) -> AuthService:
    service: AuthService = request.app.state.container.auth
    return service


AuthDep = Annotated[AuthService, Depends(_auth)]


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _token_body(issued: IssuedToken) -> dict[str, object]:
    c = issued.claims
    return {
        "access_token": issued.token,
        "token_type": "bearer",
        "expires_at": c.expires_at,
        "user": {"id": c.user_id, "name": c.user_name},
        "project": {"id": c.project_id, "name": c.project_name},
        "roles": list(c.roles),
    }


router = APIRouter(
    prefix="/api/v1/auth", tags=["auth"], responses=problem_responses(400, 401, 422, 429)
)


@router.post(
    "/tokens",
    response_model=TokenRead,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=policy_doc("public"),
)
async def issue_token(data: TokenRequest, request: Request, auth: AuthDep) -> object:
    """Log in (password + project, or an application credential): a project-scoped bearer
    token. Send it as `Authorization: Bearer <token>`."""
    return _token_body(await auth.issue(data, address=_address(request)))


@router.post("/token", response_model=TokenRead, openapi_extra=policy_doc("public"))
async def issue_token_form(
    request: Request,
    auth: AuthDep,
    username: Annotated[str, Form(max_length=255)],
    password: Annotated[str, Form(max_length=1024)],
    scope: Annotated[
        str,
        Form(
            max_length=1024,
            description="`project:<name or id>` (a bare project name or id is accepted too).",
        ),
    ] = "",
    client_id: Annotated[
        str | None, Form(max_length=255, description="The project's name or id.")
    ] = None,
) -> object:
    """The OAuth2 password form (RFC 6749 4.3), behind the /docs Authorize button. The project
    is the scope `project:<name or id>`, else the client_id (sent in the form or, as Swagger UI
    does by default, as the user name of an `Authorization: Basic` header; the client secret is
    ignored); with neither, the user's only project."""
    project = (
        _project_scope(scope)
        or (client_id or "").strip()
        or _basic_client_id(request.headers.get("authorization"))
        or None
    )
    data = TokenRequest(username=username, password=password, project=project)
    return _token_body(await auth.issue(data, address=_address(request)))


def _project_scope(scope: str) -> str:
    """The project a space-separated OAuth2 scope names ("" for none)."""
    tokens = scope.split()
    named = [t[len(PROJECT_SCOPE_PREFIX) :] for t in tokens if t.startswith(PROJECT_SCOPE_PREFIX)]
    if not named and len(tokens) == 1:
        named = tokens  # a bare project name, as the form has always taken
    if len(named) > 1 or any(not name for name in named):
        raise InvalidInput(
            f"scope: name exactly one project, as {PROJECT_SCOPE_PREFIX}<name or id>",
            field="scope",
        )
    return named[0] if named else ""


def _basic_client_id(header: str | None) -> str:
    """The client id of `Authorization: Basic base64(client_id:client_secret)` (RFC 6749
    2.3.1), where Swagger UI puts its client_id field unless told to use the form body."""
    if not header or header[:6].lower() != "basic ":
        return ""
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            "Authorization: Basic must be base64 of client_id:client_secret",
            field="Authorization",
        ) from None
    return decoded.partition(":")[0].strip()


@router.get("/me", response_model=MeRead, openapi_extra=policy_doc("user:self"))
async def me(ctx: ContextDep) -> object:
    """Who the token belongs to."""
    return {
        "user": {"id": ctx.user_id, "name": ctx.user_name},
        "project": {"id": ctx.project_id, "name": ctx.project_name},
        "roles": sorted(ctx.roles),
        "expires_at": ctx.expires_at,
        "is_admin": ctx.is_admin,
    }

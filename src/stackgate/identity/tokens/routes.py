"""Token routes: log in (/auth/tokens, the OAuth2 form at /auth/token) and /auth/me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, status

from stackgate.core.deps import ContextDep, policy_doc
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
    scope: Annotated[str, Form(max_length=255, description="The project name or id.")] = "",
    client_id: Annotated[str | None, Form(max_length=255)] = None,
) -> object:
    """The OAuth2 password form (for the /docs Authorize button); the project goes in `scope`
    or, failing that, `client_id`; without either, the user's only project is used."""
    project = scope.strip() or (client_id or "").strip() or None
    data = TokenRequest(username=username, password=password, project=project)
    return _token_body(await auth.issue(data, address=_address(request)))


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

"""Identity HTTP routes: tokens, projects, members, users, application credentials, quotas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response, status

from stackgate.core.deps import ContextDep, page_params, policy_doc
from stackgate.core.pagination import PageRequest
from stackgate.core.problem import problem_responses
from stackgate.identity.directory import DirectoryService
from stackgate.identity.models import RoleAssignment, User
from stackgate.identity.schemas import (
    CredentialCreate,
    CredentialCreated,
    CredentialList,
    CredentialRead,
    MemberGrant,
    MemberList,
    MemberRead,
    MemberUpdate,
    MeRead,
    PasswordChange,
    ProjectCreate,
    ProjectList,
    ProjectRead,
    ProjectUpdate,
    QuotaRead,
    QuotaUpdate,
    TokenRead,
    TokenRequest,
    UserCreate,
    UserList,
    UserRead,
    UserUpdate,
)
from stackgate.identity.service import AuthService, IssuedToken


async def _auth(request: Request) -> AuthService:
    service: AuthService = request.app.state.container.auth
    return service


async def _directory(request: Request) -> DirectoryService:
    service: DirectoryService = request.app.state.container.directory
    return service


AuthDep = Annotated[AuthService, Depends(_auth)]
DirectoryDep = Annotated[DirectoryService, Depends(_directory)]
NamePage = Annotated[PageRequest, Depends(page_params(["name", "created_at"], "name"))]
_ERR = problem_responses(400, 401, 403, 404, 409, 422)


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


def _quota_body(project_id: str, quotas: dict[str, tuple[int, int]]) -> dict[str, object]:
    return {
        "project_id": project_id,
        "quotas": {k: {"limit": v[0], "in_use": v[1]} for k, v in quotas.items()},
    }


def _member(pair: tuple[RoleAssignment, User]) -> dict[str, object]:
    assignment, user = pair
    return {
        "user_id": user.id,
        "user_name": user.name,
        "project_id": assignment.project_id,
        "role": assignment.role,
    }


auth_router = APIRouter(
    prefix="/api/v1/auth", tags=["auth"], responses=problem_responses(400, 401, 422, 429)
)


@auth_router.post(
    "/tokens",
    response_model=TokenRead,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=policy_doc("public"),
)
async def issue_token(data: TokenRequest, request: Request, auth: AuthDep) -> object:
    """Log in (password + project, or an application credential): a project-scoped bearer
    token. Send it as `Authorization: Bearer <token>`."""
    return _token_body(await auth.issue(data, address=_address(request)))


@auth_router.post("/token", response_model=TokenRead, openapi_extra=policy_doc("public"))
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


@auth_router.get("/me", response_model=MeRead, openapi_extra=policy_doc("user:self"))
async def me(ctx: ContextDep) -> object:
    """Who the token belongs to."""
    return {
        "user": {"id": ctx.user_id, "name": ctx.user_name},
        "project": {"id": ctx.project_id, "name": ctx.project_name},
        "roles": sorted(ctx.roles),
        "expires_at": ctx.expires_at,
        "is_admin": ctx.is_admin,
    }


router = APIRouter(prefix="/api/v1", responses=_ERR)


@router.get(
    "/projects",
    response_model=ProjectList,
    tags=["projects"],
    openapi_extra=policy_doc("project:read"),
)
async def list_projects(ctx: ContextDep, directory: DirectoryDep, page: NamePage) -> object:
    """Projects you belong to (the cloud admin: all)."""
    return (await directory.list_projects(ctx, page=page)).as_body()


@router.post(
    "/projects",
    response_model=ProjectRead,
    status_code=status.HTTP_201_CREATED,
    tags=["projects"],
    openapi_extra=policy_doc("project:write"),
)
async def create_project(
    data: ProjectCreate, ctx: ContextDep, directory: DirectoryDep, response: Response
) -> object:
    """Create a project (cloud admin)."""
    project = await directory.create_project(ctx, data)
    response.headers["Location"] = f"/api/v1/projects/{project.id}"
    return project


@router.get(
    "/projects/{project_id}",
    response_model=ProjectRead,
    tags=["projects"],
    openapi_extra=policy_doc("project:read"),
)
async def get_project(project_id: str, ctx: ContextDep, directory: DirectoryDep) -> object:
    """Show a project."""
    return await directory.get_project(ctx, project_id)


@router.patch(
    "/projects/{project_id}",
    response_model=ProjectRead,
    tags=["projects"],
    openapi_extra=policy_doc("project:write"),
)
async def update_project(
    project_id: str, data: ProjectUpdate, ctx: ContextDep, directory: DirectoryDep
) -> object:
    """Rename, describe, enable or disable a project (cloud admin)."""
    return await directory.update_project(ctx, project_id, data)


@router.delete(
    "/projects/{project_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["projects"],
    openapi_extra=policy_doc("project:write"),
)
async def delete_project(project_id: str, ctx: ContextDep, directory: DirectoryDep) -> Response:
    """Delete an empty project (cloud admin)."""
    await directory.delete_project(ctx, project_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/projects/{project_id}/members",
    response_model=MemberList,
    tags=["projects"],
    openapi_extra=policy_doc("member:read"),
)
async def list_members(project_id: str, ctx: ContextDep, directory: DirectoryDep) -> object:
    """Who has which role on the project."""
    return {"items": [_member(p) for p in await directory.list_members(ctx, project_id)]}


@router.post(
    "/projects/{project_id}/members",
    response_model=MemberRead,
    tags=["projects"],
    status_code=status.HTTP_201_CREATED,
    openapi_extra=policy_doc("member:write"),
)
async def add_member(
    project_id: str, data: MemberGrant, ctx: ContextDep, directory: DirectoryDep
) -> object:
    """Grant a user a role on the project (managers grant at most manager)."""
    return _member(await directory.set_member(ctx, project_id, data))


@router.put(
    "/projects/{project_id}/members/{user_id}",
    response_model=MemberRead,
    tags=["projects"],
    openapi_extra=policy_doc("member:write"),
)
async def change_member(
    project_id: str, user_id: str, data: MemberUpdate, ctx: ContextDep, directory: DirectoryDep
) -> object:
    """Change a member's role."""
    grant = MemberGrant(user_id=user_id, role=data.role)
    return _member(await directory.set_member(ctx, project_id, grant))


@router.delete(
    "/projects/{project_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["projects"],
    openapi_extra=policy_doc("member:write"),
)
async def remove_member(
    project_id: str, user_id: str, ctx: ContextDep, directory: DirectoryDep
) -> Response:
    """Revoke a member's role."""
    await directory.remove_member(ctx, project_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/projects/{project_id}/quotas",
    response_model=QuotaRead,
    tags=["projects"],
    openapi_extra=policy_doc("quota:read"),
)
async def get_quotas(project_id: str, ctx: ContextDep, directory: DirectoryDep) -> object:
    """Limit and in-use per resource (-1: unlimited)."""
    return _quota_body(project_id, await directory.get_quotas(ctx, project_id))


@router.put(
    "/projects/{project_id}/quotas",
    response_model=QuotaRead,
    tags=["projects"],
    openapi_extra=policy_doc("quota:write"),
)
async def set_quotas(
    project_id: str, data: QuotaUpdate, ctx: ContextDep, directory: DirectoryDep
) -> object:
    """Change limits (cloud admin)."""
    return _quota_body(project_id, await directory.set_quotas(ctx, project_id, data))


@router.get(
    "/users", response_model=UserList, tags=["users"], openapi_extra=policy_doc("user:read")
)
async def list_users(ctx: ContextDep, directory: DirectoryDep, page: NamePage) -> object:
    """Every user (cloud admin)."""
    return (await directory.list_users(ctx, page=page)).as_body()


@router.post(
    "/users",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    tags=["users"],
    openapi_extra=policy_doc("user:write"),
)
async def create_user(
    data: UserCreate, ctx: ContextDep, directory: DirectoryDep, response: Response
) -> object:
    """Create a user (cloud admin)."""
    user = await directory.create_user(ctx, data)
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return user


@router.get(
    "/users/{user_id}",
    response_model=UserRead,
    tags=["users"],
    openapi_extra=policy_doc("user:read"),
)
async def get_user(user_id: str, ctx: ContextDep, directory: DirectoryDep) -> object:
    """Show a user (yourself, or anyone for the cloud admin)."""
    return await directory.get_user(ctx, user_id)


@router.patch(
    "/users/{user_id}",
    response_model=UserRead,
    tags=["users"],
    openapi_extra=policy_doc("user:write"),
)
async def update_user(
    user_id: str, data: UserUpdate, ctx: ContextDep, directory: DirectoryDep
) -> object:
    """Update, disable or reset the password of a user (cloud admin)."""
    return await directory.update_user(ctx, user_id, data)


@router.delete(
    "/users/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["users"],
    openapi_extra=policy_doc("user:write"),
)
async def delete_user(user_id: str, ctx: ContextDep, directory: DirectoryDep) -> Response:
    """Delete a user (cloud admin)."""
    await directory.delete_user(ctx, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/users/{user_id}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["users"],
    openapi_extra=policy_doc("user:self"),
)
async def change_password(
    user_id: str, data: PasswordChange, ctx: ContextDep, directory: DirectoryDep
) -> Response:
    """Change your own password; your existing tokens stop working."""
    await directory.change_own_password(ctx, user_id, data)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/application-credentials",
    response_model=CredentialList,
    tags=["application credentials"],
    openapi_extra=policy_doc("credential:self"),
)
async def list_credentials(ctx: ContextDep, auth: AuthDep) -> object:
    """Your application credentials."""
    return {"items": await auth.list_credentials(ctx)}


@router.post(
    "/application-credentials",
    response_model=CredentialCreated,
    status_code=status.HTTP_201_CREATED,
    tags=["application credentials"],
    openapi_extra=policy_doc("credential:self"),
)
async def create_credential(data: CredentialCreate, ctx: ContextDep, auth: AuthDep) -> object:
    """An API key scoped to your token's project; the secret is shown only in this answer."""
    credential, secret = await auth.create_credential(ctx, data)
    body = CredentialRead.model_validate(credential).model_dump()
    return {**body, "secret": secret}


@router.get(
    "/application-credentials/{credential_id}",
    response_model=CredentialRead,
    tags=["application credentials"],
    openapi_extra=policy_doc("credential:self"),
)
async def get_credential(credential_id: str, ctx: ContextDep, auth: AuthDep) -> object:
    """One of your application credentials."""
    return await auth.get_credential(ctx, credential_id)


@router.delete(
    "/application-credentials/{credential_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["application credentials"],
    openapi_extra=policy_doc("credential:self"),
)
async def revoke_credential(credential_id: str, ctx: ContextDep, auth: AuthDep) -> Response:
    """Revoke one of your application credentials."""
    await auth.revoke_credential(ctx, credential_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""Project routes: /projects, their /members and their /quotas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from stackgate.core.deps import ContextDep, page_params, policy_doc
from stackgate.core.pagination import PageRequest
from stackgate.core.problem import problem_responses
from stackgate.identity.models import RoleAssignment, User
from stackgate.identity.projects.schemas import (
    MemberGrant,
    MemberList,
    MemberRead,
    MemberUpdate,
    ProjectCreate,
    ProjectList,
    ProjectRead,
    ProjectUpdate,
    QuotaRead,
    QuotaUpdate,
)
from stackgate.identity.projects.service import ProjectService


async def _projects(request: Request) -> ProjectService:
    service: ProjectService = request.app.state.container.projects
    return service


ProjectsDep = Annotated[ProjectService, Depends(_projects)]
NamePage = Annotated[PageRequest, Depends(page_params(["name", "created_at"], "name"))]
_ERR = problem_responses(400, 401, 403, 404, 409, 422)


def _quota_body(project_quotas: tuple[str, dict[str, tuple[int, int]]]) -> dict[str, object]:
    project_id, quotas = project_quotas
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


router = APIRouter(prefix="/api/v1", responses=_ERR)


@router.get(
    "/projects",
    response_model=ProjectList,
    tags=["projects"],
    openapi_extra=policy_doc("project:read"),
)
async def list_projects(ctx: ContextDep, projects: ProjectsDep, page: NamePage) -> object:
    """Projects you belong to (the cloud admin: all)."""
    return (await projects.list_projects(ctx, page=page)).as_body()


@router.post(
    "/projects",
    response_model=ProjectRead,
    status_code=status.HTTP_201_CREATED,
    tags=["projects"],
    openapi_extra=policy_doc("project:write"),
)
async def create_project(
    data: ProjectCreate, ctx: ContextDep, projects: ProjectsDep, response: Response
) -> object:
    """Create a project (cloud admin)."""
    project = await projects.create_project(ctx, data)
    response.headers["Location"] = f"/api/v1/projects/{project.id}"
    return project


@router.get(
    "/projects/{project_id}",
    response_model=ProjectRead,
    tags=["projects"],
    openapi_extra=policy_doc("project:read"),
)
async def get_project(project_id: str, ctx: ContextDep, projects: ProjectsDep) -> object:
    """Show a project."""
    return await projects.get_project(ctx, project_id)


@router.patch(
    "/projects/{project_id}",
    response_model=ProjectRead,
    tags=["projects"],
    openapi_extra=policy_doc("project:write"),
)
async def update_project(
    project_id: str, data: ProjectUpdate, ctx: ContextDep, projects: ProjectsDep
) -> object:
    """Rename, describe, enable or disable a project (cloud admin)."""
    return await projects.update_project(ctx, project_id, data)


@router.delete(
    "/projects/{project_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["projects"],
    openapi_extra=policy_doc("project:write"),
)
async def delete_project(project_id: str, ctx: ContextDep, projects: ProjectsDep) -> Response:
    """Delete an empty project (cloud admin)."""
    await projects.delete_project(ctx, project_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/projects/{project_id}/members",
    response_model=MemberList,
    tags=["projects"],
    openapi_extra=policy_doc("member:read"),
)
async def list_members(project_id: str, ctx: ContextDep, projects: ProjectsDep) -> object:
    """Who has which role on the project."""
    return {"items": [_member(p) for p in await projects.list_members(ctx, project_id)]}


@router.post(
    "/projects/{project_id}/members",
    response_model=MemberRead,
    tags=["projects"],
    status_code=status.HTTP_201_CREATED,
    openapi_extra=policy_doc("member:write"),
)
async def add_member(
    project_id: str, data: MemberGrant, ctx: ContextDep, projects: ProjectsDep
) -> object:
    """Grant a user a role on the project (managers grant at most manager)."""
    return _member(await projects.set_member(ctx, project_id, data))


@router.put(
    "/projects/{project_id}/members/{user_id}",
    response_model=MemberRead,
    tags=["projects"],
    openapi_extra=policy_doc("member:write"),
)
async def change_member(
    project_id: str, user_id: str, data: MemberUpdate, ctx: ContextDep, projects: ProjectsDep
) -> object:
    """Change a member's role."""
    grant = MemberGrant(user_id=user_id, role=data.role)
    return _member(await projects.set_member(ctx, project_id, grant))


@router.delete(
    "/projects/{project_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["projects"],
    openapi_extra=policy_doc("member:write"),
)
async def remove_member(
    project_id: str, user_id: str, ctx: ContextDep, projects: ProjectsDep
) -> Response:
    """Revoke a member's role."""
    await projects.remove_member(ctx, project_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/projects/{project_id}/quotas",
    response_model=QuotaRead,
    tags=["projects"],
    openapi_extra=policy_doc("quota:read"),
)
async def get_quotas(project_id: str, ctx: ContextDep, projects: ProjectsDep) -> object:
    """Limit and in-use per resource (-1: unlimited)."""
    return _quota_body(await projects.get_quotas(ctx, project_id))


@router.put(
    "/projects/{project_id}/quotas",
    response_model=QuotaRead,
    tags=["projects"],
    openapi_extra=policy_doc("quota:write"),
)
async def set_quotas(
    project_id: str, data: QuotaUpdate, ctx: ContextDep, projects: ProjectsDep
) -> object:
    """Change limits (cloud admin)."""
    return _quota_body(await projects.set_quotas(ctx, project_id, data))

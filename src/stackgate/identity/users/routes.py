"""User routes: /users and one's own /users/{id}/password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from stackgate.core.deps import ContextDep, page_params, policy_doc
from stackgate.core.pagination import PageRequest
from stackgate.core.problem import problem_responses
from stackgate.identity.users.schemas import (
    PasswordChange,
    UserCreate,
    UserList,
    UserRead,
    UserUpdate,
)
from stackgate.identity.users.service import UserService


async def _users(request: Request) -> UserService:
    service: UserService = request.app.state.container.users
    return service


UsersDep = Annotated[UserService, Depends(_users)]
NamePage = Annotated[PageRequest, Depends(page_params(["name", "created_at"], "name"))]
_ERR = problem_responses(400, 401, 403, 404, 409, 422)

router = APIRouter(prefix="/api/v1", responses=_ERR)


@router.get(
    "/users", response_model=UserList, tags=["users"], openapi_extra=policy_doc("user:read")
)
async def list_users(ctx: ContextDep, users: UsersDep, page: NamePage) -> object:
    """Every user (cloud admin)."""
    return (await users.list_users(ctx, page=page)).as_body()


@router.post(
    "/users",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    tags=["users"],
    openapi_extra=policy_doc("user:write"),
)
async def create_user(
    data: UserCreate, ctx: ContextDep, users: UsersDep, response: Response
) -> object:
    """Create a user (cloud admin)."""
    user = await users.create_user(ctx, data)
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return user


@router.get(
    "/users/{user_id}",
    response_model=UserRead,
    tags=["users"],
    openapi_extra=policy_doc("user:read"),
)
async def get_user(user_id: str, ctx: ContextDep, users: UsersDep) -> object:
    """Show a user (yourself, or anyone for the cloud admin)."""
    return await users.get_user(ctx, user_id)


@router.patch(
    "/users/{user_id}",
    response_model=UserRead,
    tags=["users"],
    openapi_extra=policy_doc("user:write"),
)
async def update_user(user_id: str, data: UserUpdate, ctx: ContextDep, users: UsersDep) -> object:
    """Update, disable or reset the password of a user (cloud admin)."""
    return await users.update_user(ctx, user_id, data)


@router.delete(
    "/users/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["users"],
    openapi_extra=policy_doc("user:write"),
)
async def delete_user(user_id: str, ctx: ContextDep, users: UsersDep) -> Response:
    """Delete a user (cloud admin)."""
    await users.delete_user(ctx, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/users/{user_id}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["users"],
    openapi_extra=policy_doc("user:self"),
)
async def change_password(
    user_id: str, data: PasswordChange, ctx: ContextDep, users: UsersDep
) -> Response:
    """Change your own password; your existing tokens stop working."""
    await users.change_own_password(ctx, user_id, data)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""Directory use cases: projects, their members, users, and quotas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.clock import Clock
from stackgate.core.context import RequestContext
from stackgate.core.errors import InvalidInput
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.uow import UnitOfWork
from stackgate.identity import policy, quotas
from stackgate.identity.errors import (
    AdminRoleOutsideAdminProject,
    InvalidCredentials,
    LastAdmin,
    NameTaken,
    ProjectNotEmpty,
    ProjectNotFound,
    RoleNotGrantable,
    UserNotFound,
)
from stackgate.identity.models import Project, RoleAssignment, User
from stackgate.identity.schemas import (
    MemberGrant,
    PasswordChange,
    ProjectCreate,
    ProjectUpdate,
    QuotaUpdate,
    UserCreate,
    UserUpdate,
)
from stackgate.identity.security import PasswordHasher
from stackgate.identity.service import ADMIN_PROJECT, DEFAULT_DOMAIN_ID, IdentityUoW

ProjectUsage = Callable[[UnitOfWork, str], Awaitable[Mapping[str, int]]]


class DirectoryService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        hasher: PasswordHasher,
        clock: Clock,
        usage: ProjectUsage,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._hasher = hasher
        self._clock = clock
        self._usage = usage
        self._on_change = on_change

    def _uow(self) -> IdentityUoW:
        return IdentityUoW(self._sessionmaker)

    async def _visible_project(
        self, uow: IdentityUoW, ctx: RequestContext, project_id: str
    ) -> Project:
        """A project the caller may see: their token's project, or any for the admin."""
        project = await uow.identity.project(project_id)
        if project is None or (not ctx.is_admin and project.id != ctx.project_id):
            raise ProjectNotFound(project_id)
        return project

    # projects

    async def list_projects(self, ctx: RequestContext, *, page: PageRequest) -> PageResult[Project]:
        """The caller's projects; every project for the cloud admin."""
        policy.enforce(ctx, "project:read")
        async with self._uow() as uow:
            return await uow.identity.projects(
                user_id=None if ctx.is_admin else ctx.user_id, page=page
            )

    async def get_project(self, ctx: RequestContext, project_id: str) -> Project:
        """One project the caller may see."""
        policy.enforce(ctx, "project:read")
        async with self._uow() as uow:
            return await self._visible_project(uow, ctx, project_id)

    async def create_project(self, ctx: RequestContext, data: ProjectCreate) -> Project:
        """A new project in the Default domain (admin)."""
        policy.enforce(ctx, "project:write")
        async with self._uow() as uow:
            if await uow.identity.project_name_taken(DEFAULT_DOMAIN_ID, data.name, None):
                raise NameTaken("project", data.name)
            project = Project(
                domain_id=DEFAULT_DOMAIN_ID,
                name=data.name,
                description=data.description,
                enabled=data.enabled,
                quota_serial=0,
            )
            uow.identity.add(project)
            await uow.commit()
            return project

    async def update_project(
        self, ctx: RequestContext, project_id: str, data: ProjectUpdate
    ) -> Project:
        """Rename, describe, enable or disable a project (admin)."""
        policy.enforce(ctx, "project:write")
        async with self._uow() as uow:
            project = await self._visible_project(uow, ctx, project_id)
            if data.name is not None and data.name != project.name:
                if project.name == ADMIN_PROJECT:
                    raise InvalidInput("the admin project cannot be renamed", field="name")
                if await uow.identity.project_name_taken(project.domain_id, data.name, project.id):
                    raise NameTaken("project", data.name)
                project.name = data.name
            if "description" in data.model_fields_set:
                project.description = data.description
            if data.enabled is not None:
                if not data.enabled and project.name == ADMIN_PROJECT:
                    raise LastAdmin()
                project.enabled = data.enabled
            project.updated_at = self._clock.now()
            await uow.commit()
        self._on_change()
        return project

    async def delete_project(self, ctx: RequestContext, project_id: str) -> None:
        """Delete a project that owns nothing any more (admin)."""
        policy.enforce(ctx, "project:write")
        async with self._uow() as uow:
            project = await self._visible_project(uow, ctx, project_id)
            if project.name == ADMIN_PROJECT:
                raise LastAdmin()
            in_use = dict(await self._usage(uow, project.id))
            if any(in_use.values()):
                raise ProjectNotEmpty(project.id, in_use)
            await uow.identity.remove(project)
            await uow.commit()
        self._on_change()

    # members

    async def list_members(
        self, ctx: RequestContext, project_id: str
    ) -> list[tuple[RoleAssignment, User]]:
        """Who has which role on the project."""
        policy.enforce(ctx, "member:read")
        async with self._uow() as uow:
            project = await self._visible_project(uow, ctx, project_id)
            return list(await uow.identity.members(project.id))

    async def set_member(
        self, ctx: RequestContext, project_id: str, data: MemberGrant
    ) -> tuple[RoleAssignment, User]:
        """Grant a role, or change the role a user has (managers grant at most manager)."""
        policy.enforce(ctx, "member:write")
        if not policy.grantable(ctx, data.role):
            raise RoleNotGrantable(data.role)
        async with self._uow() as uow:
            project = await self._visible_project(uow, ctx, project_id)
            if data.role == "admin" and project.name != ADMIN_PROJECT:
                raise AdminRoleOutsideAdminProject()
            user = await uow.identity.user(data.user_id)
            if user is None:
                raise InvalidInput(f"user_id: no user {data.user_id!r}", field="user_id")
            assignment = await uow.identity.assignment(user.id, project.id)
            if assignment is not None and assignment.role == "admin" and data.role != "admin":
                await self._keep_an_admin(uow, project, excluding=user.id)
            if assignment is not None and not policy.grantable(ctx, assignment.role):
                raise RoleNotGrantable(assignment.role)
            if assignment is None:
                assignment = RoleAssignment(
                    user_id=user.id,
                    project_id=project.id,
                    role=data.role,
                    created_at=self._clock.now(),
                )
                uow.identity.add(assignment)
            else:
                assignment.role = data.role
            await uow.commit()
        self._on_change()
        return assignment, user

    async def remove_member(self, ctx: RequestContext, project_id: str, user_id: str) -> None:
        """Revoke a user's role on the project; their tokens for it stop working."""
        policy.enforce(ctx, "member:write")
        async with self._uow() as uow:
            project = await self._visible_project(uow, ctx, project_id)
            assignment = await uow.identity.assignment(user_id, project.id)
            if assignment is None:
                raise UserNotFound(user_id)
            if not policy.grantable(ctx, assignment.role):
                raise RoleNotGrantable(assignment.role)
            if assignment.role == "admin":
                await self._keep_an_admin(uow, project, excluding=user_id)
            await uow.identity.remove(assignment)
            await uow.commit()
        self._on_change()

    async def _keep_an_admin(self, uow: IdentityUoW, project: Project, *, excluding: str) -> None:
        remaining = [
            a
            for a, u in await uow.identity.members(project.id)
            if a.role == "admin" and u.enabled and u.id != excluding
        ]
        if not remaining:
            raise LastAdmin()

    # users

    async def list_users(self, ctx: RequestContext, *, page: PageRequest) -> PageResult[User]:
        """Every user (admin)."""
        policy.enforce(ctx, "user:read")
        async with self._uow() as uow:
            return await uow.identity.users(page=page)

    async def get_user(self, ctx: RequestContext, user_id: str) -> User:
        """A user: oneself, or anyone for the admin."""
        policy.enforce(ctx, "user:self" if user_id == ctx.user_id else "user:read")
        async with self._uow() as uow:
            user = await uow.identity.user(user_id)
            if user is None:
                raise UserNotFound(user_id)
            return user

    async def create_user(self, ctx: RequestContext, data: UserCreate) -> User:
        """A new user in the Default domain (admin)."""
        policy.enforce(ctx, "user:write")
        async with self._uow() as uow:
            if await uow.identity.user_by_name(DEFAULT_DOMAIN_ID, data.name) is not None:
                raise NameTaken("user", data.name)
            now = self._clock.now()
            user = User(
                domain_id=DEFAULT_DOMAIN_ID,
                name=data.name,
                email=data.email,
                enabled=data.enabled,
                password_hash=self._hasher.hash(data.password),
                tokens_valid_after=now,
                created_at=now,
                updated_at=now,
            )
            uow.identity.add(user)
            await uow.commit()
            return user

    async def update_user(self, ctx: RequestContext, user_id: str, data: UserUpdate) -> User:
        """Rename, re-mail, enable/disable or reset the password of a user (admin); disabling
        or a new password voids the user's tokens."""
        policy.enforce(ctx, "user:write")
        async with self._uow() as uow:
            user = await uow.identity.user(user_id)
            if user is None:
                raise UserNotFound(user_id)
            now = self._clock.now()
            if data.name is not None and data.name != user.name:
                if await uow.identity.user_by_name(user.domain_id, data.name) is not None:
                    raise NameTaken("user", data.name)
                user.name = data.name
            if "email" in data.model_fields_set:
                user.email = data.email
            if data.enabled is not None and data.enabled != user.enabled:
                if not data.enabled:
                    await self._not_last_admin(uow, user.id)
                    user.tokens_valid_after = now
                user.enabled = data.enabled
            if data.password is not None:
                user.password_hash = self._hasher.hash(data.password)
                user.tokens_valid_after = now
            user.updated_at = now
            await uow.commit()
        self._on_change()
        return user

    async def change_own_password(
        self, ctx: RequestContext, user_id: str, data: PasswordChange
    ) -> None:
        """A user changes their own password (knowing the old one); old tokens stop working."""
        policy.enforce(ctx, "user:self")
        if user_id != ctx.user_id:
            raise UserNotFound(user_id)
        async with self._uow() as uow:
            user = await uow.identity.user(user_id)
            if user is None:
                raise UserNotFound(user_id)
            if not self._hasher.verify(data.original_password, user.password_hash):
                raise InvalidCredentials()
            user.password_hash = self._hasher.hash(data.password)
            user.tokens_valid_after = self._clock.now()
            await uow.commit()
        self._on_change()

    async def delete_user(self, ctx: RequestContext, user_id: str) -> None:
        """Delete a user and their role assignments (admin)."""
        policy.enforce(ctx, "user:write")
        async with self._uow() as uow:
            user = await uow.identity.user(user_id)
            if user is None:
                raise UserNotFound(user_id)
            await self._not_last_admin(uow, user.id)
            await uow.identity.remove(user)
            await uow.commit()
        self._on_change()

    async def _not_last_admin(self, uow: IdentityUoW, user_id: str) -> None:
        admin = await uow.identity.project_by_ref(DEFAULT_DOMAIN_ID, ADMIN_PROJECT)
        if admin is None:
            return
        assignment = await uow.identity.assignment(user_id, admin.id)
        if assignment is not None and assignment.role == "admin":
            await self._keep_an_admin(uow, admin, excluding=user_id)

    # quotas

    async def get_quotas(self, ctx: RequestContext, project_id: str) -> dict[str, tuple[int, int]]:
        """Limit and in-use per resource."""
        policy.enforce(ctx, "quota:read")
        async with self._uow() as uow:
            project = await self._visible_project(uow, ctx, project_id)
            limits = quotas.effective_limits(await uow.identity.quota_limits(project.id))
            usage = await self._usage(uow, project.id)
            return {name: (limit, int(usage.get(name, 0))) for name, limit in limits.items()}

    async def set_quotas(
        self, ctx: RequestContext, project_id: str, data: QuotaUpdate
    ) -> dict[str, tuple[int, int]]:
        """Change limits (admin); unknown resources are refused."""
        policy.enforce(ctx, "quota:write")
        unknown = sorted(set(data.quotas) - set(quotas.DEFAULT_QUOTAS))
        if unknown:
            raise InvalidInput(
                f"unknown quota resource(s): {', '.join(unknown)}; known: "
                f"{', '.join(quotas.DEFAULT_QUOTAS)}",
                field="quotas",
            )
        async with self._uow() as uow:
            project = await self._visible_project(uow, ctx, project_id)
            for resource, limit in data.quotas.items():
                await uow.identity.set_quota(project.id, resource, limit)
            await uow.commit()
        return await self.get_quotas(ctx, project_id)

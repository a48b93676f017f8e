"""Project use cases: projects, their members, and their quotas."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.clock import Clock
from stackgate.core.context import RequestContext
from stackgate.core.errors import InvalidInput
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.identity import policy, quotas
from stackgate.identity.errors import (
    AdminRoleOutsideAdminProject,
    LastAdmin,
    NameTaken,
    ProjectNotEmpty,
    ProjectNotFound,
    RoleNotGrantable,
    UserNotFound,
)
from stackgate.identity.models import (
    ADMIN_PROJECT,
    DEFAULT_DOMAIN_ID,
    Project,
    RoleAssignment,
    User,
)
from stackgate.identity.projects.schemas import (
    MemberGrant,
    ProjectCreate,
    ProjectUpdate,
    QuotaUpdate,
)
from stackgate.identity.repository import IdentityUoW

# A project's id, and (limit, in use) per quota resource.
ProjectQuotas = tuple[str, dict[str, tuple[int, int]]]


async def _keep_an_admin(uow: IdentityUoW, project: Project, *, excluding: str) -> None:
    if not await uow.identity.has_other_admin(project.id, excluding=excluding):
        raise LastAdmin()


class ProjectService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Clock,
        usage: quotas.UsageFn,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._usage = usage
        self._on_change = on_change

    def _uow(self) -> IdentityUoW:
        return IdentityUoW(self._sessionmaker)

    async def _visible_project(
        self, uow: IdentityUoW, ctx: RequestContext, project_id: str
    ) -> Project:
        """A project the caller may see, by id or by name (names are unique in the domain, as
        in Keystone, so a name is never ambiguous): their token's project, or any for the
        admin."""
        project = await uow.identity.project_by_ref(DEFAULT_DOMAIN_ID, project_id)
        if project is None or (not ctx.is_admin and project.id != ctx.project_id):
            raise ProjectNotFound(project_id)
        return project

    async def _user(self, uow: IdentityUoW, ref: str, *, field: str | None = None) -> User:
        """A user by id or name; unknown: 400 naming the body field, else 404 (a path)."""
        user = await uow.identity.user(ref) or await uow.identity.user_by_name(
            DEFAULT_DOMAIN_ID, ref
        )
        if user is None:
            if field is not None:
                raise InvalidInput(f"{field}: no user named or with id {ref!r}", field=field)
            raise UserNotFound(ref)
        return user

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
            user = await self._user(uow, data.user_id, field="user_id")
            assignment = await uow.identity.assignment(user.id, project.id)
            if assignment is not None and assignment.role == "admin" and data.role != "admin":
                await _keep_an_admin(uow, project, excluding=user.id)
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
            user = await self._user(uow, user_id)
            assignment = await uow.identity.assignment(user.id, project.id)
            if assignment is None:
                raise UserNotFound(user_id)
            if not policy.grantable(ctx, assignment.role):
                raise RoleNotGrantable(assignment.role)
            if assignment.role == "admin":
                await _keep_an_admin(uow, project, excluding=user.id)
            await uow.identity.remove(assignment)
            await uow.commit()
        self._on_change()

    async def get_quotas(self, ctx: RequestContext, project_id: str) -> ProjectQuotas:
        """Limit and in-use per resource, with the project's id (the path may name it)."""
        policy.enforce(ctx, "quota:read")
        async with self._uow() as uow:
            project = await self._visible_project(uow, ctx, project_id)
            limits = quotas.effective_limits(await uow.identity.quota_limits(project.id))
            usage = await self._usage(uow, project.id)
            return project.id, {
                name: (limit, int(usage.get(name, 0))) for name, limit in limits.items()
            }

    async def set_quotas(
        self, ctx: RequestContext, project_id: str, data: QuotaUpdate
    ) -> ProjectQuotas:
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

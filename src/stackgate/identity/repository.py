"""Identity storage, and the unit of work every identity use case runs in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.repository import paginate
from stackgate.core.uow import UnitOfWork
from stackgate.identity.models import (
    ApplicationCredential,
    Domain,
    Project,
    QuotaLimit,
    RoleAssignment,
    SigningKey,
    User,
)

PROJECT_SORTS = {"name": Project.name, "created_at": Project.created_at}
USER_SORTS = {"name": User.name, "created_at": User.created_at}


@dataclass(frozen=True, slots=True)
class Grant:
    """What a token's holder may do right now, read fresh from the database."""

    user_enabled: bool
    tokens_valid_after: datetime
    project_enabled: bool
    role: str
    assigned_at: datetime
    credential_expires_at: datetime | None = None


class IdentityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # domains and keys

    async def domain_by_name(self, name: str) -> Domain | None:
        stmt = select(Domain).where(Domain.name == name)
        return (await self.session.scalars(stmt)).first()

    async def signing_key(self) -> SigningKey | None:
        return await self.session.get(SigningKey, "default")

    # projects

    async def project(self, project_id: str) -> Project | None:
        return await self.session.get(Project, project_id)

    async def project_by_ref(self, domain_id: str, ref: str) -> Project | None:
        project = await self.session.get(Project, ref) if len(ref) == 36 else None
        if project is None:
            stmt = select(Project).where(Project.domain_id == domain_id, Project.name == ref)
            project = (await self.session.scalars(stmt)).first()
        return project

    async def project_name_taken(self, domain_id: str, name: str, exclude: str | None) -> bool:
        stmt = select(Project.id).where(Project.domain_id == domain_id, Project.name == name)
        if exclude:
            stmt = stmt.where(Project.id != exclude)
        return (await self.session.scalars(stmt)).first() is not None

    async def projects(self, *, user_id: str | None, page: PageRequest) -> PageResult[Project]:
        """All projects, or only those `user_id` has a role on."""
        stmt = select(Project)
        if user_id is not None:
            member_of = select(RoleAssignment.project_id).where(RoleAssignment.user_id == user_id)
            stmt = stmt.where(Project.id.in_(member_of))
        return await paginate(
            self.session, stmt, columns=PROJECT_SORTS, id_column=Project.id, request=page
        )

    async def projects_of(self, user_id: str) -> Sequence[Project]:
        stmt = (
            select(Project)
            .join(RoleAssignment, RoleAssignment.project_id == Project.id)
            .where(RoleAssignment.user_id == user_id)
        )
        return (await self.session.scalars(stmt)).all()

    async def lock_project(self, project_id: str) -> bool:
        """Serialise quota-checked creates of one project: a row lock on PostgreSQL and
        MariaDB, the database write lock on SQLite (so the count that follows is current)."""
        result = await self.session.execute(
            update(Project)
            .where(Project.id == project_id)
            .values(quota_serial=Project.quota_serial + 1)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    # users

    async def user(self, user_id: str) -> User | None:
        return await self.session.get(User, user_id)

    async def user_by_name(self, domain_id: str, name: str) -> User | None:
        stmt = select(User).where(User.domain_id == domain_id, User.name == name)
        return (await self.session.scalars(stmt)).first()

    async def users(self, *, page: PageRequest) -> PageResult[User]:
        return await paginate(
            self.session, select(User), columns=USER_SORTS, id_column=User.id, request=page
        )

    # role assignments

    async def assignment(self, user_id: str, project_id: str) -> RoleAssignment | None:
        stmt = select(RoleAssignment).where(
            RoleAssignment.user_id == user_id, RoleAssignment.project_id == project_id
        )
        return (await self.session.scalars(stmt)).first()

    async def members(self, project_id: str) -> Sequence[tuple[RoleAssignment, User]]:
        stmt = (
            select(RoleAssignment, User)
            .join(User, User.id == RoleAssignment.user_id)
            .where(RoleAssignment.project_id == project_id)
            .order_by(User.name)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(stmt)).all()]

    async def has_other_admin(self, project_id: str, *, excluding: str) -> bool:
        """Whether an enabled user other than `excluding` holds the admin role on the project."""
        return any(
            a.role == "admin" and u.enabled and u.id != excluding
            for a, u in await self.members(project_id)
        )

    async def grant(self, user_id: str, project_id: str, credential_id: str | None) -> Grant | None:
        """The live facts behind a token, in one query."""
        stmt = (
            select(
                User.enabled,
                User.tokens_valid_after,
                Project.enabled,
                RoleAssignment.role,
                RoleAssignment.created_at,
            )
            .select_from(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .join(Project, Project.id == RoleAssignment.project_id)
            .where(User.id == user_id, RoleAssignment.project_id == project_id)
        )
        row = (await self.session.execute(stmt)).first()
        if row is None:
            return None
        expires = None
        if credential_id is not None:
            credential = await self.session.get(ApplicationCredential, credential_id)
            if credential is None or credential.user_id != user_id:
                return None
            expires = credential.expires_at
        return Grant(bool(row[0]), row[1], bool(row[2]), str(row[3]), row[4], expires)

    # application credentials

    async def credential(self, credential_id: str) -> ApplicationCredential | None:
        return await self.session.get(ApplicationCredential, credential_id)

    async def credentials_of(self, user_id: str) -> Sequence[ApplicationCredential]:
        stmt = (
            select(ApplicationCredential)
            .where(ApplicationCredential.user_id == user_id)
            .order_by(ApplicationCredential.created_at.desc())
        )
        return (await self.session.scalars(stmt)).all()

    async def credential_name_taken(self, user_id: str, name: str) -> bool:
        stmt = select(ApplicationCredential.id).where(
            ApplicationCredential.user_id == user_id, ApplicationCredential.name == name
        )
        return (await self.session.scalars(stmt)).first() is not None

    # quotas

    async def quota_limits(self, project_id: str) -> dict[str, int]:
        stmt = select(QuotaLimit).where(QuotaLimit.project_id == project_id)
        return {q.resource: q.hard_limit for q in (await self.session.scalars(stmt)).all()}

    async def set_quota(self, project_id: str, resource: str, limit: int) -> None:
        row = await self.session.get(QuotaLimit, (project_id, resource))
        if row is None:
            self.session.add(QuotaLimit(project_id=project_id, resource=resource, hard_limit=limit))
        else:
            row.hard_limit = limit

    def add(self, row: object) -> None:
        self.session.add(row)

    async def remove(self, row: object) -> None:
        await self.session.delete(row)


class IdentityUoW(UnitOfWork):
    identity: IdentityRepository

    def _attach(self, session: AsyncSession) -> None:
        self.identity = IdentityRepository(session)

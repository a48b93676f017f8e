"""First start: the Default domain, the cloud admin, a demo project and user, the signing key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from stackgate.core.clock import Clock
from stackgate.core.context import DEFAULT_PROJECT_ID
from stackgate.identity.models import (
    ADMIN_PROJECT,
    DEFAULT_DOMAIN_ID,
    Domain,
    Project,
    RoleAssignment,
    SigningKey,
    User,
)
from stackgate.identity.repository import IdentityUoW
from stackgate.identity.security import PasswordHasher, new_secret


@dataclass(frozen=True, slots=True)
class SeedResult:
    """Passwords made up at this start (None when they existed or were configured)."""

    created: bool
    admin_password: str | None
    demo_password: str | None


async def ensure_identity(
    uow: IdentityUoW,
    *,
    hasher: PasswordHasher,
    clock: Clock,
    admin_password: str | None,
    demo_password: str | None,
) -> SeedResult:
    """Create what a first start needs; a no-op when the Default domain already exists."""
    async with uow:
        if await uow.identity.domain_by_name("Default") is not None:
            return SeedResult(False, None, None)
        now = clock.now()
        made_admin = admin_password is None
        made_demo = demo_password is None
        admin_secret = admin_password or secrets.token_urlsafe(12)
        demo_secret = demo_password or secrets.token_urlsafe(12)
        uow.identity.add(Domain(id=DEFAULT_DOMAIN_ID, name="Default", enabled=True))
        await uow.flush()
        admin_project = Project(
            domain_id=DEFAULT_DOMAIN_ID,
            name=ADMIN_PROJECT,
            description="Cloud administration",
            quota_serial=0,
        )
        demo_project = Project(
            id=DEFAULT_PROJECT_ID,
            domain_id=DEFAULT_DOMAIN_ID,
            name="demo",
            description="A project to try things in",
            quota_serial=0,
        )
        admin = User(
            domain_id=DEFAULT_DOMAIN_ID,
            name="admin",
            password_hash=hasher.hash(admin_secret),
            tokens_valid_after=now,
        )
        demo = User(
            domain_id=DEFAULT_DOMAIN_ID,
            name="demo",
            password_hash=hasher.hash(demo_secret),
            tokens_valid_after=now,
        )
        for row in (admin_project, demo_project, admin, demo):
            uow.identity.add(row)
        await uow.flush()
        uow.identity.add(
            RoleAssignment(
                user_id=admin.id, project_id=admin_project.id, role="admin", created_at=now
            )
        )
        uow.identity.add(
            RoleAssignment(
                user_id=demo.id, project_id=demo_project.id, role="member", created_at=now
            )
        )
        if await uow.identity.signing_key() is None:
            uow.identity.add(SigningKey(id="default", secret=new_secret(), created_at=now))
        try:
            await uow.commit()
        except IntegrityError:
            # Another process seeded at the same moment: theirs stands.
            return SeedResult(False, None, None)
        return SeedResult(
            True, admin_secret if made_admin else None, demo_secret if made_demo else None
        )


async def signing_secret(uow: IdentityUoW) -> str:
    """The shared token signing secret stored at first start."""
    async with uow:
        key = await uow.identity.signing_key()
        if key is None:
            raise RuntimeError("no signing key: run `stackgate migrate` first")
        return key.secret

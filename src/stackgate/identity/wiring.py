"""Identity's wiring: its routers and tables (it drives nothing in the cloud)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from stackgate.identity.models import (
    ApplicationCredential,
    Domain,
    Project,
    QuotaLimit,
    RoleAssignment,
    SigningKey,
    User,
)
from stackgate.wiring import Feature

if TYPE_CHECKING:
    from fastapi import APIRouter


def routers() -> Sequence[APIRouter]:
    from stackgate.identity.credentials.routes import router as credentials
    from stackgate.identity.projects.routes import router as projects
    from stackgate.identity.tokens.routes import router as tokens
    from stackgate.identity.users.routes import router as users

    return (tokens, projects, users, credentials)


FEATURE = Feature(
    name="identity",
    routers=routers,
    tables=(ApplicationCredential, RoleAssignment, QuotaLimit, User, Project, Domain, SigningKey),
)

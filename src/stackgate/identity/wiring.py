"""Identity's wiring: its routers and tables (it drives nothing in the cloud)."""

from __future__ import annotations

from stackgate.identity.credentials.routes import router as credential_router
from stackgate.identity.models import (
    ApplicationCredential,
    Domain,
    Project,
    QuotaLimit,
    RoleAssignment,
    SigningKey,
    User,
)
from stackgate.identity.projects.routes import router as project_router
from stackgate.identity.tokens.routes import router as token_router
from stackgate.identity.users.routes import router as user_router
from stackgate.wiring import Feature

FEATURE = Feature(
    name="identity",
    routers=(token_router, project_router, user_router, credential_router),
    tables=(ApplicationCredential, RoleAssignment, QuotaLimit, User, Project, Domain, SigningKey),
)

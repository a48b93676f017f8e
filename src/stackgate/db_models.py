"""Every feature's tables, imported for Alembic and mapper configuration."""

from stackgate.audit.models import AuditEvent
from stackgate.catalog.models import Flavor, Image
from stackgate.compute.models import Server
from stackgate.core.db import Base
from stackgate.core.idempotency import IdempotencyRecord
from stackgate.core.operations import Operation
from stackgate.identity.models import (
    ApplicationCredential,
    Domain,
    Project,
    QuotaLimit,
    RoleAssignment,
    SigningKey,
    User,
)

__all__ = [
    "ApplicationCredential",
    "AuditEvent",
    "Base",
    "Domain",
    "Flavor",
    "IdempotencyRecord",
    "Image",
    "Operation",
    "Project",
    "QuotaLimit",
    "RoleAssignment",
    "Server",
    "SigningKey",
    "User",
]

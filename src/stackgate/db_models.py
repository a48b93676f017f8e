"""Every feature's tables, imported for Alembic and mapper configuration."""

from stackgate.audit.models import AuditEvent
from stackgate.block_storage.models import Volume, VolumeSnapshot
from stackgate.catalog.models import Flavor, Image
from stackgate.compute.models import Server
from stackgate.core.db import Base
from stackgate.core.idempotency import IdempotencyRecord
from stackgate.core.operations import Operation
from stackgate.core.outbox import OutboxEvent
from stackgate.identity.models import (
    ApplicationCredential,
    Domain,
    Project,
    QuotaLimit,
    RoleAssignment,
    SigningKey,
    User,
)
from stackgate.network.models import (
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
)
from stackgate.providers.health import ProviderHealth

__all__ = [
    "ApplicationCredential",
    "AuditEvent",
    "Base",
    "Domain",
    "Flavor",
    "FloatingIP",
    "IPAllocation",
    "IdempotencyRecord",
    "Image",
    "Network",
    "Operation",
    "OutboxEvent",
    "Port",
    "PortSecurityGroup",
    "Project",
    "ProviderHealth",
    "QuotaLimit",
    "RoleAssignment",
    "SecurityGroup",
    "SecurityGroupRule",
    "Server",
    "SigningKey",
    "Subnet",
    "User",
    "Volume",
    "VolumeSnapshot",
]

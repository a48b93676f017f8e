"""Every feature's tables, imported for Alembic and mapper configuration."""

from stackgate.catalog.models import Flavor, Image
from stackgate.compute.models import Server
from stackgate.core.db import Base
from stackgate.core.idempotency import IdempotencyRecord
from stackgate.core.operations import Operation

__all__ = ["Base", "Flavor", "IdempotencyRecord", "Image", "Operation", "Server"]

"""Every table of the control plane, for Alembic and mapper configuration: the features' (as
their wiring declares them) and the ground floor's own."""

from stackgate.core.db import Base
from stackgate.core.idempotency import IdempotencyRecord
from stackgate.core.operations import Operation
from stackgate.core.outbox import EventSequence, OutboxEvent
from stackgate.features import FEATURES
from stackgate.providers.health import ProviderHealth

CORE_TABLES = (OutboxEvent, EventSequence, ProviderHealth, IdempotencyRecord, Operation)
FEATURE_TABLES = tuple(table for feature in FEATURES for table in feature.tables)

__all__ = ["CORE_TABLES", "FEATURE_TABLES", "Base"]

"""The features, in the order their routes are served (and documented): the one list the app,
the worker, the reconciler, the outbox recorder, Alembic and the tests read."""

from __future__ import annotations

from collections.abc import Mapping

from stackgate.activity.wiring import FEATURE as ACTIVITY
from stackgate.audit.wiring import FEATURE as AUDIT
from stackgate.block_storage.wiring import FEATURE as BLOCK_STORAGE
from stackgate.catalog.wiring import FEATURE as CATALOG
from stackgate.compute.wiring import FEATURE as COMPUTE
from stackgate.events.changes import Derivation
from stackgate.identity.wiring import FEATURE as IDENTITY
from stackgate.network.wiring import FEATURE as NETWORK
from stackgate.wiring import Feature, HandlerParts
from stackgate.worker.reconciler import Repair
from stackgate.worker.registry import OperationHandler

FEATURES: tuple[Feature, ...] = (
    IDENTITY,
    AUDIT,
    COMPUTE,
    CATALOG,
    NETWORK,
    BLOCK_STORAGE,
    ACTIVITY,
)


def handlers(parts: HandlerParts) -> dict[str, OperationHandler]:
    """resource_type -> its handler, for the worker's registry."""
    found: dict[str, OperationHandler] = {}
    for feature in FEATURES:
        for resource_type, handler in feature.handlers(parts).items():
            if resource_type in found:
                raise ValueError(f"two features drive {resource_type!r}")
            found[resource_type] = handler
    return found


def derivations() -> Mapping[str, Derivation]:
    """table name -> its event derivation, for the outbox recorder."""
    return {table: derive for feature in FEATURES for table, derive in feature.events.items()}


def repairs() -> dict[str, Repair]:
    """The reconciler's repair jobs of every feature."""
    return {name: job for feature in FEATURES for name, job in feature.repairs.items()}

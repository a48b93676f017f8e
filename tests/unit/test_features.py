"""The features' declarations (stackgate/features.py) are the one list the app, the worker, the
outbox and the tests read: hold them against what actually exists, so nothing is left out."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import make_settings

from stackgate import features
from stackgate.app import create_app
from stackgate.core.clock import SystemClock
from stackgate.core.operations import OperationFactory
from stackgate.db_models import CORE_TABLES, FEATURE_TABLES, Base
from stackgate.features import FEATURES
from stackgate.providers.simulator import SimulatorProvider
from stackgate.wiring import HandlerParts


def test_every_table_is_declared_once() -> None:
    declared = [model.__table__.name for model in (*FEATURE_TABLES, *CORE_TABLES)]
    assert len(declared) == len(set(declared)), declared
    assert set(declared) == set(Base.metadata.tables)


def test_events_and_seeds_name_the_feature_s_own_tables() -> None:
    for feature in FEATURES:
        own = {model.__table__.name for model in feature.tables}
        assert set(feature.events) <= own, feature.name
        assert {model.__table__.name for model in feature.seeded} <= own, feature.name


def test_every_operation_resource_type_has_one_handler() -> None:
    parts = HandlerParts(
        sessionmaker=None,  # type: ignore[arg-type]  # built, never run
        provider=SimulatorProvider(database_url="sqlite+aiosqlite://", speed=0),
        clock=SystemClock(),
        operations=OperationFactory(SystemClock(), timedelta(seconds=60)),
        poll_interval=0.05,
    )
    handlers = features.handlers(parts)
    # What the request side queues (the resource types of operations).
    assert set(handlers) == {
        "server",
        "image",
        "network",
        "subnet",
        "port",
        "floating_ip",
        "security_group",
        "security_group_rule",
        "volume",
        "volume_snapshot",
    }
    # The event derivations cover every resource the worker drives except catalog images.
    assert set(features.derivations()) == set(handlers) - {"image"}


def test_the_app_serves_every_declared_router() -> None:
    app = create_app(make_settings("sqlite+aiosqlite://"))
    served = set(app.openapi()["paths"])
    for feature in FEATURES:
        for router in (*feature.routers(), *feature.cloud_routers()):
            for route in router.routes:
                assert getattr(route, "path", None) in served, (feature.name, route)

"""What a feature declares about itself, once: its routers, its worker handlers, the events its
tables' changes derive, and its tables. The app, the worker, the outbox recorder and the tests
all read the one list in `features.py`, so adding a feature is one entry there."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.clock import Clock
from stackgate.core.db import Base
from stackgate.core.operations import OperationFactory
from stackgate.events.changes import Derivation
from stackgate.providers.base import Provider
from stackgate.worker.handler import OperationHandler as StepHandler
from stackgate.worker.reconciler import Repair
from stackgate.worker.registry import OperationHandler

if TYPE_CHECKING:
    from fastapi import APIRouter

H = TypeVar("H", bound=StepHandler[Any, Any, Any])


@dataclass(frozen=True, slots=True)
class HandlerParts:
    """What the worker hands a feature to build its operation handlers."""

    sessionmaker: async_sessionmaker[AsyncSession]
    provider: Provider
    clock: Clock
    operations: OperationFactory
    poll_interval: float

    def make(self, handler: type[H], *, poll_cap: float | None = None) -> H:
        """A handler on these parts, polling at the configured interval or the feature's own
        cap, whichever is shorter."""
        poll = self.poll_interval if poll_cap is None else min(self.poll_interval, poll_cap)
        return handler(
            self.sessionmaker,
            self.provider,
            clock=self.clock,
            operations=self.operations,
            poll_interval=poll,
        )


Handlers = Callable[[HandlerParts], Mapping[str, OperationHandler]]
# Routers are imported when the app is built, not when a feature is declared: the worker, the
# CLI and migrations then start without loading the API's routes (a second per process).
Routers = Callable[[], Sequence["APIRouter"]]


def _no_handlers(parts: HandlerParts) -> Mapping[str, OperationHandler]:
    return {}


def _no_routers() -> Sequence[APIRouter]:
    return ()


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    # Routers whose requests need nothing of the cloud (reads of our own rows, identity).
    routers: Routers = _no_routers
    # Routers whose writes queue cloud work: refused with 503 while the cloud's breaker is open.
    cloud_routers: Routers = _no_routers
    # resource_type -> its operation handler (one handler may drive several types).
    handlers: Handlers = _no_handlers
    # The reconciler's periodic repairs of the feature's rows, by name.
    repairs: Mapping[str, Repair] = field(default_factory=dict)
    # table name -> the events a row change of it derives (the table name is the resource type).
    events: Mapping[str, Derivation] = field(default_factory=dict)
    # The feature's tables, and for those seeded with rows every install has, which of their
    # rows are the seed.
    tables: Sequence[type[Base]] = ()
    seeded: Mapping[type[Base], Callable[[], ColumnElement[bool]]] = field(default_factory=dict)

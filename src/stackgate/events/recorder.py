"""Record resource events into the outbox, in the flush that writes the change itself.

Installed once on the control plane's sessionmaker (bootstrap): a `before_flush` listener looks
at the new, changed and deleted rows of the resource tables, asks the feature's derivation
(its `events.py`, declared in its wiring) which events the change means, and adds
OutboxEvent rows to the same session. They are inserted by the same flush and commit or roll
back with the change: no event without its change, no change without its event.

Bulk ORM deletes (`session.execute(delete(Subnet).where(...))`) bypass the flush, so a
`do_orm_execute` listener reads the rows they are about to remove and records their delete
events first. Rows of other metadata (the simulator's own tables) and the outbox itself are
never looked at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm.base import NO_VALUE

from stackgate.core.clock import Clock
from stackgate.core.db import Base
from stackgate.core.ids import new_id
from stackgate.core.outbox import OutboxEvent
from stackgate.events.changes import Change, Derivation, Emit

_PENDING = "stackgate.outbox.recorded"
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Recorded:
    """One event ready to become an outbox row."""

    resource_type: str
    resource_id: str
    project_id: str | None
    user_id: str | None
    emit: Emit
    summary: dict[str, Any]


# What a live view needs to render the row the event is about, whatever its type.
SUMMARY_FIELDS = ("name", "status", "task_state", "power_state")


def summary_of(values: Mapping[str, Any]) -> dict[str, Any]:
    """The row as the event stream shows it: its name and state, and a server's fault."""
    summary = {name: values[name] for name in SUMMARY_FIELDS if name in values}
    if values.get("fault_message"):
        summary["fault"] = {"code": values.get("fault_code"), "message": values["fault_message"]}
    return summary


def events_for(resource_type: str, derive: Derivation, change: Change) -> list[Recorded]:
    values = change.values
    resource_id = values.get("id")
    if resource_id is None:
        return []
    summary = summary_of(values)
    return [
        Recorded(
            resource_type=resource_type,
            resource_id=str(resource_id),
            project_id=values.get("project_id"),
            user_id=values.get("user_id"),
            emit=emit,
            summary=summary,
        )
        for emit in derive(change)
    ]


class OutboxRecorder:
    """Turns flushes of resource rows into outbox rows; `on_commit` is called after a commit
    that recorded events (the in-process relay wakes up instead of waiting for its poll)."""

    def __init__(
        self,
        clock: Clock,
        derivations: Mapping[str, Derivation],
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._clock = clock
        # table name (= the envelope's resource_type) -> what a change of its rows means
        self._derivations = dict(derivations)
        self._on_commit = on_commit

    def _tracked(self, mapper: Mapper[Any]) -> tuple[str, Derivation] | None:
        """The derivation of a mapped class, if it is a resource table of the control plane."""
        table = mapper.local_table
        if getattr(table, "metadata", None) is not Base.metadata:
            return None
        name = getattr(table, "name", "")
        derive = self._derivations.get(name)
        return None if derive is None else (name, derive)

    def install(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Give `sessionmaker` a Session class of its own carrying the listeners, so sessions
        made elsewhere (the simulator's, billing's) are untouched."""
        base = sessionmaker.kw.get("sync_session_class") or Session
        session_class = type("OutboxRecordingSession", (base,), {})
        event.listen(session_class, "before_flush", self._before_flush)
        event.listen(session_class, "do_orm_execute", self._before_bulk_delete)
        event.listen(session_class, "after_commit", self._after_commit)
        event.listen(session_class, "after_rollback", self._after_rollback)
        sessionmaker.configure(sync_session_class=session_class)

    # listeners

    def _before_flush(
        self, session: Session, _flush: UOWTransaction, _instances: Iterable[Any] | None
    ) -> None:
        recorded: list[Recorded] = []
        for obj in list(session.new):
            recorded += self._inserted(obj)
        for obj in list(session.dirty):
            if obj not in session.deleted:
                recorded += self._updated(session, obj)
        for obj in list(session.deleted):
            recorded += self._deleted(obj)
        self._add(session, recorded)

    def _before_bulk_delete(self, state: ORMExecuteState) -> None:
        if not state.is_delete or state.bind_mapper is None:
            return
        mapper = state.bind_mapper
        found = self._tracked(mapper)
        if found is None:
            return
        resource_type, derive = found
        table = mapper.local_table
        where = getattr(state.statement, "whereclause", None)
        stmt = select(table) if where is None else select(table).where(where)
        keys = {prop.columns[0].name: prop.key for prop in mapper.column_attrs}
        recorded: list[Recorded] = []
        for row in state.session.execute(stmt).mappings():
            values = {keys.get(name, name): value for name, value in row.items()}
            recorded += events_for(resource_type, derive, Change("delete", values))
        self._add(state.session, recorded)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_PENDING, False) and self._on_commit is not None:
            self._on_commit()

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(_PENDING, None)

    # changes

    def _inserted(self, obj: Any) -> list[Recorded]:
        state = inspect(obj)
        found = self._tracked(state.mapper)
        if found is None:
            return []
        if getattr(obj, "id", None) is None:
            # The column default, applied now so the event can name the row.
            obj.id = new_id()
        return events_for(*found, Change("insert", _loaded(state)))

    def _updated(self, session: Session, obj: Any) -> list[Recorded]:
        state = inspect(obj)
        found = self._tracked(state.mapper)
        if found is None:
            return []
        values = _loaded(state)
        old: dict[str, Any] = {}
        unknown: list[str] = []
        for prop in state.mapper.column_attrs:
            history = state.attrs[prop.key].history
            if not history.added:
                continue
            if history.deleted:
                previous = history.deleted[0]
            else:
                previous = state.committed_state.get(prop.key, _MISSING)
                if previous is NO_VALUE:
                    previous = _MISSING
            if previous is _MISSING:
                unknown.append(prop.key)
            elif previous != values.get(prop.key):
                old[prop.key] = previous
        if unknown:
            # Set without having been loaded (expired): read the stored values to compare.
            stored = _stored(session, state.mapper, state.identity, unknown)
            for key in unknown:
                if key in stored and stored[key] != values.get(key):
                    old[key] = stored[key]
        if not old:
            return []
        return events_for(*found, Change("update", values, old))

    def _deleted(self, obj: Any) -> list[Recorded]:
        state = inspect(obj)
        found = self._tracked(state.mapper)
        if found is None:
            return []
        return events_for(*found, Change("delete", _loaded(state)))

    def _add(self, session: Session, recorded: list[Recorded]) -> None:
        if not recorded:
            return
        now = self._clock.now()
        for item in recorded:
            session.add(
                OutboxEvent(
                    event_type=item.emit.event_type,
                    occurred_at=now,
                    project_id=item.project_id,
                    user_id=item.user_id,
                    resource_type=item.resource_type,
                    resource_id=item.resource_id,
                    payload=item.emit.payload,
                    summary=item.summary,
                    attempts=0,
                    next_attempt_at=now,
                )
            )
        session.info[_PENDING] = True


def _loaded(state: Any) -> dict[str, Any]:
    """The row's column values as the session holds them (never triggers a load)."""
    loaded: Mapping[str, Any] = state.dict
    return {prop.key: loaded[prop.key] for prop in state.mapper.column_attrs if prop.key in loaded}


def _stored(
    session: Session, mapper: Mapper[Any], identity: tuple[Any, ...] | None, keys: list[str]
) -> dict[str, Any]:
    if identity is None:
        return {}
    columns = [mapper.column_attrs[key].columns[0] for key in keys]
    pk = mapper.primary_key
    stmt = select(*columns).where(*(col == value for col, value in zip(pk, identity, strict=True)))
    row = session.execute(stmt.execution_options(autoflush=False)).first()
    return {} if row is None else dict(zip(keys, row, strict=True))


def install_recorder(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    clock: Clock,
    derivations: Mapping[str, Derivation],
    on_commit: Callable[[], None] | None = None,
) -> OutboxRecorder:
    recorder = OutboxRecorder(clock, derivations, on_commit)
    recorder.install(sessionmaker)
    return recorder

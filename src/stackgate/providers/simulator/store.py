"""The simulator's database: engine per dialect, serialised write transactions, seeding."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Table, event, inspect, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from stackgate.providers.base import ProviderError, ProviderUnavailable
from stackgate.providers.simulator.tables import SimBase, SimHypervisor

_WRITE = "stackgate_sim_write"
_ATTEMPTS = 5
# Deadlock and serialisation failures: PostgreSQL SQLSTATEs, MySQL/MariaDB error numbers.
_PG_RETRY = {"40P01", "40001"}
_MYSQL_RETRY = {1213, 1205}
T = TypeVar("T")


class StoreContention(ProviderUnavailable):
    """The database chose this transaction as a deadlock victim; running it again is safe."""


def _is_contention(exc: DBAPIError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _PG_RETRY:
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_RETRY:
        return True
    return "database is locked" in str(orig)


class Store:
    """Owns the engine; every read-check-write of the simulator runs in `transaction()`."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        database = parsed.database or ""
        self.in_memory = self.is_sqlite and database in ("", ":memory:")
        self._file = Path(database) if self.is_sqlite and not self.in_memory else None
        if self._file is not None and database.startswith("file:"):
            self._file = None
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        # SQLite has one writer per file; queueing writers here avoids busy-waiting in threads,
        # and the in-memory database has a single shared connection that must not interleave.
        self._lock = asyncio.Lock()
        self._start_lock = asyncio.Lock()

    @property
    def started(self) -> bool:
        return self._engine is not None

    @property
    def engine(self) -> AsyncEngine:
        """The engine (for maintenance such as dropping the tables in tests)."""
        if self._engine is None:
            raise ProviderUnavailable("simulator store not started", status_code=503)
        return self._engine

    async def start(self, hypervisors: list[SimHypervisor], seeds: Sequence[SimBase] = ()) -> None:
        """Create the engine and tables, and add the hypervisors and seeded rows missing."""
        async with self._start_lock:
            if self._engine is not None:
                return
            engine = self._create_engine()
            try:
                async with self._lock:
                    await self._create_tables(engine)
                self._engine = engine
                # autoflush: a locking re-read (populate_existing) must see what we changed.
                self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=True)
                await self._seed(hypervisors, seeds)
            except DBAPIError as exc:
                self._engine = None
                await engine.dispose()
                raise ProviderUnavailable(
                    f"simulator store unreachable: {exc}", status_code=503
                ) from exc

    async def close(self) -> None:
        """Dispose of the engine; a later start() opens it again."""
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = None
        self._sessions = None

    async def check(self) -> None:
        """Raise ProviderUnavailable unless the store answers a trivial query."""
        if self._engine is None:
            raise ProviderUnavailable("simulator store not started", status_code=503)
        try:
            async with self.transaction() as session:
                await session.execute(text("SELECT 1"))
        except DBAPIError as exc:
            raise ProviderUnavailable(
                f"simulator store unreachable: {exc}", status_code=503
            ) from exc

    @asynccontextmanager
    async def transaction(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """One transaction; `write` takes SQLite's write lock up front (BEGIN IMMEDIATE)."""
        if self._sessions is None:
            raise ProviderUnavailable("simulator store not started", status_code=503)
        async with AsyncExitStack() as stack:
            if self.in_memory or (write and self.is_sqlite):
                await stack.enter_async_context(self._lock)
            session = await stack.enter_async_context(self._sessions())
            try:
                await session.connection(execution_options={_WRITE: write})
                try:
                    yield session
                # A refusal (not found, conflict, bad request) is raised before the call changes
                # anything; what came before it is the lazy completion of earlier operations,
                # which must persist (a finished delete stays finished).
                except ProviderError as exc:
                    if isinstance(exc, ProviderUnavailable):
                        raise
                    await session.commit()
                    raise
                await session.commit()
            except IntegrityError:
                raise
            except DBAPIError as exc:
                # The cloud's own database failing looks like its API failing to the caller.
                kind = StoreContention if _is_contention(exc) else ProviderUnavailable
                raise kind(f"simulator store error: {exc.orig}", status_code=503) from exc

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]], *, write: bool = False) -> T:
        """Run `work` in one transaction, again from the start if it lost a deadlock."""
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with self.transaction(write=write) as session:
                    return await work(session)
            except StoreContention:
                if attempt == _ATTEMPTS:
                    raise
                # Jitter, so that the two victims do not collide again in lockstep.
                await asyncio.sleep(random.uniform(0.005, 0.02) * attempt)
        raise AssertionError("unreachable")

    def _create_engine(self) -> AsyncEngine:
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
            if self.in_memory:
                kwargs["poolclass"] = StaticPool
            elif self._file is not None:
                self._file.parent.mkdir(parents=True, exist_ok=True)
        else:
            # READ COMMITTED: InnoDB's default REPEATABLE READ takes gap locks on the range
            # scans (due operations, usage) and deadlocks with concurrent inserts.
            kwargs.update(
                pool_pre_ping=True, pool_size=5, max_overflow=5, isolation_level="READ COMMITTED"
            )
        engine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            _tune_sqlite(engine, wal=not self.in_memory)
        return engine

    async def _create_tables(self, engine: AsyncEngine) -> None:
        for attempt in range(3):
            try:
                async with engine.connect() as conn:
                    writer = await conn.execution_options(**{_WRITE: True})
                    async with writer.begin():
                        await writer.run_sync(_create_or_upgrade_tables)
                return
            except DBAPIError:
                # Another process created the same tables between our check and CREATE.
                if attempt == 2:
                    raise

    async def _seed(self, hypervisors: list[SimHypervisor], seeds: Sequence[SimBase]) -> None:
        for attempt in range(3):
            try:
                async with self.transaction(write=True) as session:
                    known = set((await session.scalars(select(SimHypervisor.name))).all())
                    session.add_all(h for h in hypervisors if h.name not in known)
                    for row in seeds:
                        if await session.get(type(row), _primary_key(row)) is None:
                            session.add(row)
                return
            except IntegrityError:
                if attempt == 2:
                    raise


def _tune_sqlite(engine: AsyncEngine, *, wal: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself so that writers can ask for BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        if wal:
            # WAL lets readers (the API process) run while the worker writes.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the file's write lock at once: a read-check-write across processes
        # cannot interleave, and no deferred transaction fails while upgrading its lock.
        write = bool(conn.get_execution_options().get(_WRITE))
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _create_or_upgrade_tables(conn: Connection) -> None:
    """Make the missing tables, and bring the ones an older version made up to date.

    The tables present are read once: asking per table (create_all's checkfirst) and reading
    the columns of tables just made would cost hundreds of round trips on every start."""
    present = set(inspect(conn).get_table_names())
    tables = SimBase.metadata.sorted_tables
    missing = [table for table in tables if table.name not in present]
    SimBase.metadata.create_all(conn, tables=missing, checkfirst=False)
    _add_missing_columns(conn, [table for table in tables if table.name in present])


def _add_missing_columns(conn: Connection, tables: list[Table]) -> None:
    """A store made by an older version lacks the nullable columns added since (create_all
    makes missing tables only); the simulator has no migrations, so add them here."""
    inspector = inspect(conn)
    for table in tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present or not column.nullable:
                continue
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")


def _primary_key(row: SimBase) -> tuple[Any, ...]:
    mapper = inspect(type(row))
    return tuple(getattr(row, mapper.get_property_by_column(c).key) for c in mapper.primary_key)

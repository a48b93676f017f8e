"""The simulator's tables compile on every dialect the product supports."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from stackgate.providers.simulator.tables import SimBase, SimServer


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect(), mysql.dialect()])
def test_ddl_compiles(dialect: Dialect) -> None:
    for table in SimBase.metadata.sorted_tables:
        assert table.name.startswith("sim_")
        str(CreateTable(table).compile(dialect=dialect))
        for index in table.indexes:
            str(CreateIndex(index).compile(dialect=dialect))


def test_row_locks_render_where_the_dialect_has_them() -> None:
    stmt = select(SimServer).with_for_update()
    assert "FOR UPDATE" in str(stmt.compile(dialect=postgresql.dialect()))
    assert "FOR UPDATE" in str(stmt.compile(dialect=mysql.dialect()))
    assert "FOR UPDATE" not in str(stmt.compile(dialect=sqlite.dialect()))


def test_the_simulator_has_its_own_metadata() -> None:
    from stackgate.core.db import Base

    assert SimBase.metadata is not Base.metadata
    assert not set(SimBase.metadata.tables) & set(Base.metadata.tables)


async def test_a_deadlock_victim_runs_again() -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    from stackgate.providers.simulator.store import Store, StoreContention

    store = Store("sqlite+aiosqlite://")
    await store.start([])
    attempts: list[int] = []

    async def work(session: AsyncSession) -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise StoreContention("deadlock", status_code=503)
        return "done"

    try:
        assert await store.run(work, write=True) == "done"
        assert len(attempts) == 3
    finally:
        await store.close()

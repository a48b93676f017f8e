"""A simulator database made by an older version gains the columns added since."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from stackgate.providers.simulator import SimulatorProvider


async def test_a_store_without_the_new_server_columns_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "simulator.db"
    url = f"sqlite+aiosqlite:///{path}"
    first = SimulatorProvider(database_url=url, speed=0)
    await first.start()
    await first.close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE sim_server DROP COLUMN port_address")
        conn.execute("ALTER TABLE sim_server DROP COLUMN boot_volume_id")

    second = SimulatorProvider(database_url=url, speed=0)
    await second.start()
    try:
        assert await second.compute.servers() == []
        public = await second.network.find_network("public")
        assert public is not None and public.external
    finally:
        await second.close()
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(sim_server)")}
    assert {"port_address", "boot_volume_id"} <= columns

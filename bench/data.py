"""The database under test: a fresh one per run (a SQLite file, or CREATE DATABASE on
PostgreSQL), migrated by `stackgate migrate`, loaded with server rows straight into the `server`
table, and statements on it for the bookkeeping between measurements."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.processes import stackgate_bin, stackgate_env

PROJECT_ID = "00000000-0000-0000-0000-000000000001"  # stackgate.core.context.DEFAULT_PROJECT_ID

with contextlib.suppress(ImportError):  # keep the bench usable while src/ is mid-edit
    from stackgate.core.context import DEFAULT_PROJECT_ID as PROJECT_ID


@dataclass
class Database:
    kind: str  # sqlite | postgresql
    url: str  # as a user writes it (stackgate converts it to its async driver)
    async_url: str  # for the baselines
    admin_url: str | None = None
    name: str | None = None
    path: Path | None = None
    ids: list[str] = field(default_factory=list)
    # Who the StackGate figures act as: with identity in place, the demo user in the demo
    # project, logged in with a bearer token; before it, everyone is the default project.
    project_id: str = PROJECT_ID
    user_id: str | None = None
    password: str = field(default_factory=lambda: "bench-" + secrets.token_urlsafe(12))
    auth: bool = False


def sqlite_database(workdir: Path) -> Database:
    path = workdir / "stackgate.db"
    return Database("sqlite", f"sqlite:///{path}", f"sqlite+aiosqlite:///{path}", path=path)


def postgres_database(admin_url: str) -> Database:
    import asyncpg

    name = f"stackgate_bench_{os.getpid()}_{int(time.time())}"

    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    base = admin_url.rsplit("/", 1)[0]
    return Database(
        "postgresql",
        f"{base}/{name}",
        f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1),
        admin_url=admin_url,
        name=name,
    )


def drop_database(db: Database) -> None:
    if db.kind != "postgresql" or db.admin_url is None:
        return
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(db.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
        finally:
            await conn.close()

    try:
        asyncio.run(drop())
    except Exception as exc:
        print(f"  ! could not drop database {db.name}: {exc}")


def migrate(db: Database, args: argparse.Namespace, workdir: Path) -> None:
    """`stackgate migrate`, as a user runs it."""
    done = subprocess.run(
        [str(stackgate_bin()), "migrate"],
        env=stackgate_env(db, args, workdir),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"stackgate migrate failed:\n{done.stdout}{done.stderr}")


SERVER_COLUMNS = [
    "id", "project_id", "user_id", "name", "description", "metadata", "key_name", "user_data",
    "flavor_id", "flavor_name", "vcpus", "ram_mb", "disk_gb", "old_flavor", "image_id",
    "image_name", "vm_state", "task_state", "power_state", "status", "locked", "locked_reason",
    "ip_address", "host", "provider_id", "fault_code", "fault_message", "fault_created_at",
    "launched_at", "deleted_at", "created_at", "updated_at", "version",
]  # fmt: skip

# (share, vm_state, task_state, power_state, status): what a cloud that has run a while holds.
STATE_MIX = [
    (0.88, "active", None, 1, "ACTIVE"),
    (0.10, "stopped", None, 4, "SHUTOFF"),
    (0.02, "error", None, 0, "ERROR"),
]


def check_state_mix() -> None:
    with contextlib.suppress(ImportError):
        from stackgate.semantics.nova import derive_status

        for _, vm_state, task_state, _, status in STATE_MIX:
            assert derive_status(vm_state, task_state) == status, (vm_state, status)


def make_rows(
    db: Database,
    count: int,
    flavor: tuple[Any, ...],
    image: tuple[Any, ...],
    seed: int = 42,
) -> Iterator[tuple[Any, ...]]:
    """Server rows as StackGate writes them: the default project, a realistic mix of states."""
    rng = random.Random(seed)
    flavor_id, flavor_name, vcpus, ram_mb, disk_gb = flavor
    image_id, image_name = image
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    span = 180 * 86400  # created over the last six months
    cumulative = []
    total = 0.0
    for share, *rest in STATE_MIX:
        total += share
        cumulative.append((total, rest))
    for i in range(count):
        pick = rng.random()
        vm_state, task_state, power_state, status = next(
            rest for limit, rest in cumulative if pick <= limit or limit == total
        )
        created = now - timedelta(seconds=rng.uniform(60, span), microseconds=rng.randrange(10**6))
        launched = None if status == "ERROR" else created + timedelta(seconds=rng.uniform(5, 40))
        updated = (launched or created) + timedelta(seconds=rng.uniform(0, 86400))
        fault = (
            (
                500,
                "No valid host was found. There are not enough hosts available.",
                created + timedelta(seconds=3),
            )
            if status == "ERROR"
            else (None, None, None)
        )
        host = None if status == "ERROR" else f"sim-host-{rng.randrange(1, 9):03d}"
        ip = None if status == "ERROR" else f"10.0.{(i >> 8) & 255}.{i & 255 or 1}"
        yield (
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            db.project_id,
            db.user_id,
            f"vm-{i:06d}",
            None,
            "{}",
            None,
            None,
            flavor_id,
            flavor_name,
            vcpus,
            ram_mb,
            disk_gb,
            None,
            image_id,
            image_name,
            vm_state,
            task_state,
            power_state,
            status,
            False,
            None,
            ip,
            host,
            None if status == "ERROR" else str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            *fault,
            launched,
            None,
            created,
            updated,
            1,
        )


def check_server_columns(db: Database) -> None:
    """Fail clearly when a migration added a NOT NULL column the loader does not fill."""
    if db.kind == "sqlite":
        rows = db_execute(
            db, "SELECT name, \"notnull\", dflt_value FROM pragma_table_info('server')"
        )
    else:
        rows = db_execute(
            db,
            "SELECT column_name, is_nullable = 'NO', column_default FROM information_schema.columns"
            " WHERE table_name = 'server' AND table_schema = current_schema()",
        )
    missing = [name for name, notnull, default in rows
               if notnull and default is None and name not in SERVER_COLUMNS]  # fmt: skip
    if missing:
        raise SystemExit(
            f"bench: the server table has new NOT NULL columns {missing}; "
            "teach SERVER_COLUMNS and make_rows() in bench/data.py about them"
        )


def _sqlite_dt(value: Any) -> Any:
    # SQLAlchemy's SQLite DateTime storage format, which its result processor parses back.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value


def load_rows(db: Database, count: int) -> list[str]:
    """Bulk-insert `count` servers; returns their ids."""
    if db.kind == "sqlite":
        assert db.path is not None
        conn = sqlite3.connect(db.path)
        try:
            flavor = conn.execute(
                "SELECT id, name, vcpus, ram_mb, disk_gb FROM flavor WHERE name = 'm1.small'"
            ).fetchone()
            image = conn.execute(
                "SELECT id, name FROM image WHERE name = 'ubuntu-22.04'"
            ).fetchone()
            ids: list[str] = []
            sql = (
                f"INSERT INTO server ({', '.join(SERVER_COLUMNS)}) VALUES "
                f"({', '.join('?' for _ in SERVER_COLUMNS)})"
            )
            batch: list[tuple[Any, ...]] = []
            for row in make_rows(db, count, flavor, image):
                ids.append(row[0])
                batch.append(
                    tuple(
                        _sqlite_dt(v)
                        if isinstance(v, datetime)
                        else (int(v) if isinstance(v, bool) else v)
                        for v in row
                    )
                )
                if len(batch) >= 5000:
                    conn.executemany(sql, batch)
                    batch.clear()
            if batch:
                conn.executemany(sql, batch)
            conn.commit()
            conn.execute("ANALYZE")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.commit()
        finally:
            conn.close()
        return ids

    import asyncpg

    async def load() -> list[str]:
        conn = await asyncpg.connect(db.url)
        try:
            flavor = tuple(
                await conn.fetchrow(
                    "SELECT id, name, vcpus, ram_mb, disk_gb FROM flavor WHERE name = 'm1.small'"
                )
            )
            image = tuple(
                await conn.fetchrow("SELECT id, name FROM image WHERE name = 'ubuntu-22.04'")
            )
            rows = list(make_rows(db, count, flavor, image))
            for start in range(0, len(rows), 20000):
                await conn.copy_records_to_table(
                    "server", records=rows[start : start + 20000], columns=SERVER_COLUMNS
                )
            await conn.execute("VACUUM ANALYZE server")
            return [r[0] for r in rows]
        finally:
            await conn.close()

    return asyncio.run(load())


def db_execute(db: Database, sql: str) -> list[tuple[Any, ...]]:
    """One statement straight on the database (bookkeeping between measurements)."""
    if db.kind == "sqlite":
        assert db.path is not None
        conn = sqlite3.connect(db.path, timeout=30)
        try:
            rows = conn.execute(sql).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()
    import asyncpg

    async def run() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(db.url)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(run())

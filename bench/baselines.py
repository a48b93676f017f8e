"""The bare baselines StackGate is measured against, rebuilt in the same run (performance.md).

Each is served by its own uvicorn process (uvloop + httptools, like `stackgate serve`), started
by bench/run.py (bench/measure.py) as `uvicorn baselines:<app> --app-dir bench`:

- `starlette_app`  A: bare Starlette returning a small JSON            GET  /a
- `fastapi_app`    B: FastAPI route returning a Pydantic v2 model       GET  /b
                   C: + SQLAlchemy 2 async ORM `session.get` by id      GET  /c/{id}
                   D: the same route with raw asyncpg `fetchrow` (PG)   GET  /d/{id}
                   E: keyset page of 50 rows, ORM                       GET  /e?per_page=50
                   F: insert one row per transaction, ORM, 201          POST /f

They read and write StackGate's own `server` table (same rows, same indexes), but share no
StackGate code: no middleware, no unit of work, no tenancy, no problem+json. Configuration comes
from environment variables: BENCH_DATABASE_URL (an async SQLAlchemy URL), BENCH_POOL_SIZE and
BENCH_MAX_OVERFLOW (default 10 and 10, StackGate's defaults), BENCH_PROJECT_ID.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, HTTPException, Query
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text, and_, event, or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "sqlite+aiosqlite:///./bench.db")
POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE", "10"))
MAX_OVERFLOW = int(os.environ.get("BENCH_MAX_OVERFLOW", "10"))
PROJECT_ID = os.environ.get("BENCH_PROJECT_ID", "00000000-0000-0000-0000-000000000001")


# A: bare Starlette ---------------------------------------------------------------------------


async def _hello(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "service": "bench"})


starlette_app = Starlette(routes=[Route("/a", _hello), Route("/health", _hello)])


# The server table, mapped from scratch (no StackGate code) ----------------------------------


class Base(DeclarativeBase):
    pass


class ServerRow(Base):
    __tablename__ = "server"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str | None] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    key_name: Mapped[str | None] = mapped_column(String(255))
    user_data: Mapped[str | None] = mapped_column(Text)
    flavor_id: Mapped[str | None] = mapped_column(String(36))
    flavor_name: Mapped[str] = mapped_column(String(255))
    vcpus: Mapped[int] = mapped_column(Integer)
    ram_mb: Mapped[int] = mapped_column(Integer)
    disk_gb: Mapped[int] = mapped_column(Integer)
    old_flavor: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    image_id: Mapped[str | None] = mapped_column(String(36))
    image_name: Mapped[str | None] = mapped_column(String(255))
    vm_state: Mapped[str] = mapped_column(String(32))
    task_state: Mapped[str | None] = mapped_column(String(32))
    power_state: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32))
    locked: Mapped[bool] = mapped_column(Boolean)
    locked_reason: Mapped[str | None] = mapped_column(String(255))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    host: Mapped[str | None] = mapped_column(String(255))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    fault_code: Mapped[int | None] = mapped_column(Integer)
    fault_message: Mapped[str | None] = mapped_column(Text)
    fault_created_at: Mapped[datetime | None] = mapped_column(DateTime)
    launched_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer)


class ServerOut(BaseModel):
    """About what a client needs of a server; read from the ORM row or a driver record."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    project_id: str
    name: str
    description: str | None
    status: str
    vm_state: str
    task_state: str | None
    power_state: int
    flavor_id: str | None
    flavor_name: str
    vcpus: int
    ram_mb: int
    disk_gb: int
    image_id: str | None
    image_name: str | None
    locked: bool
    ip_address: str | None
    metadata: dict[str, str] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    key_name: str | None
    created_at: datetime
    updated_at: datetime
    launched_at: datetime | None
    version: int


class PageOut(BaseModel):
    items: list[ServerOut]
    next_cursor: str | None


class Small(BaseModel):
    status: str
    service: str
    version: int


class CreateIn(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    flavor: str = Field(min_length=1, max_length=255)
    image: str = Field(min_length=1, max_length=255)


# B-F: FastAPI ---------------------------------------------------------------------------------

_engine_kwargs: dict[str, Any] = {}
if DATABASE_URL.startswith("sqlite"):
    # The same connection settings StackGate uses on SQLite (WAL, busy timeout).
    _engine_kwargs["connect_args"] = {"timeout": 30}
else:
    _engine_kwargs.update(pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW)
engine = create_async_engine(DATABASE_URL, **_engine_kwargs)
if DATABASE_URL.startswith("sqlite"):

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


Session = async_sessionmaker(engine, expire_on_commit=False)
_raw: dict[str, Any] = {}


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    if DATABASE_URL.startswith("postgresql"):
        import asyncpg

        dsn = DATABASE_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
        _raw["pool"] = await asyncpg.create_pool(
            dsn, min_size=POOL_SIZE, max_size=POOL_SIZE + MAX_OVERFLOW
        )
    try:
        yield
    finally:
        if "pool" in _raw:
            await _raw.pop("pool").close()
        await engine.dispose()


fastapi_app = FastAPI(lifespan=_lifespan)


@fastapi_app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@fastapi_app.get("/b", response_model=Small)
async def pydantic_only() -> Small:
    """B: the framework alone, a Pydantic v2 response model and no database."""
    return Small(status="ok", service="bench", version=1)


@fastapi_app.get("/c/{server_id}", response_model=ServerOut)
async def orm_get(server_id: str) -> Any:
    """C: the naive async ORM read (BEGIN, SELECT, ROLLBACK on a pooled connection)."""
    async with Session() as session:
        row = await session.get(ServerRow, server_id)
    if row is None:
        raise HTTPException(404, "not found")
    return row


_RAW_SELECT = (
    "SELECT id, project_id, name, description, status, vm_state, task_state, power_state, "
    "flavor_id, flavor_name, vcpus, ram_mb, disk_gb, image_id, image_name, locked, ip_address, "
    "metadata, key_name, created_at, updated_at, launched_at, version FROM server WHERE id = $1"
)


@fastapi_app.get("/d/{server_id}", response_model=ServerOut)
async def raw_get(server_id: str) -> Any:
    """D: the same read with the driver alone (PostgreSQL only)."""
    pool = _raw.get("pool")
    if pool is None:
        raise HTTPException(501, "raw driver baseline needs PostgreSQL")
    async with pool.acquire() as conn:
        record = await conn.fetchrow(_RAW_SELECT, server_id)
    if record is None:
        raise HTTPException(404, "not found")
    row = dict(record)
    row["metadata"] = _json_loads(row["metadata"])
    return row


def _json_loads(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


@fastapi_app.get("/e", response_model=PageOut)
async def orm_page(
    per_page: int = Query(50, ge=1, le=1000), cursor: str | None = Query(None, max_length=200)
) -> Any:
    """E: a keyset page of the project's servers, newest first (no total)."""
    stmt = select(ServerRow).where(
        ServerRow.project_id == PROJECT_ID, ServerRow.status != "DELETED"
    )
    if cursor:
        created, _, last_id = cursor.partition("|")
        value = datetime.fromisoformat(created)
        stmt = stmt.where(
            or_(
                ServerRow.created_at < value,
                and_(ServerRow.created_at == value, ServerRow.id < last_id),
            )
        )
    stmt = stmt.order_by(ServerRow.created_at.desc(), ServerRow.id.desc()).limit(per_page + 1)
    async with Session() as session:
        rows = list((await session.scalars(stmt)).all())
    next_cursor = None
    if len(rows) > per_page:
        rows = rows[:per_page]
        next_cursor = f"{rows[-1].created_at.isoformat()}|{rows[-1].id}"
    return {"items": rows, "next_cursor": next_cursor}


@fastapi_app.post("/f", response_model=ServerOut, status_code=201)
async def orm_insert(body: CreateIn) -> Any:
    """F: one ORM insert per transaction (a server row in BUILD), answered 201."""
    now = datetime.now(UTC).replace(tzinfo=None)
    row = ServerRow(
        id=str(uuid.uuid4()),
        project_id=PROJECT_ID,
        name=body.name,
        metadata_={},
        flavor_name=body.flavor,
        vcpus=1,
        ram_mb=2048,
        disk_gb=20,
        image_name=body.image,
        vm_state="building",
        task_state="scheduling",
        power_state=0,
        status="BUILD",
        locked=False,
        created_at=now,
        updated_at=now,
        version=1,
    )
    async with Session() as session:
        session.add(row)
        await session.commit()
    return row

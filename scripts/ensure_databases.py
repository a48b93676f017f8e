"""Create the PostgreSQL databases named by STACKGATE_DATABASE_URL and
STACKGATE_BILLING_DATABASE_URL when they do not exist yet (`make up` runs this first)."""

from __future__ import annotations

import asyncio
import os
import sys
from urllib.parse import urlsplit, urlunsplit

import asyncpg


async def ensure(url: str) -> None:
    parts = urlsplit(url.replace("+asyncpg", ""))
    if not parts.scheme.startswith("postgres"):
        return
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    conn = await asyncpg.connect(admin)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")
    finally:
        await conn.close()


async def main() -> None:
    for key in ("STACKGATE_DATABASE_URL", "STACKGATE_BILLING_DATABASE_URL"):
        if os.environ.get(key):
            await ensure(os.environ[key])


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

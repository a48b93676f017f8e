"""Billing tests: the run's RabbitMQ vhost and a PostgreSQL billing database of their own
(created, upgraded with billing's migrations, dropped at the end). Missing services FAIL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from stackgate.billing.consumer import AfterCommit, BillingConsumers, ConsumerConfig
from stackgate.billing.migrate import upgrade_billing
from stackgate.billing.models import Order, UsageEvent, UsagePeriod, UsageResource
from stackgate.billing.prices import PriceList
from stackgate.billing.service import BillingService
from stackgate.core.db import create_engine, create_sessionmaker
from stackgate.messaging.topology import (
    BILLING_DEAD_LETTER_QUEUE,
    BILLING_QUEUE,
    USAGE_DEAD_LETTER_QUEUE,
    USAGE_QUEUE,
)
from tests.messaging_fixtures import broker_url, broker_vhost, purge_queues

__all__ = ["broker_url", "broker_vhost"]

PG_ADMIN = os.environ.get("STACKGATE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432")


async def pg_admin(statement: str) -> None:
    engine = create_engine(PG_ADMIN + "/postgres")
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(statement))
    except Exception as exc:
        pytest.fail(f"PostgreSQL unreachable at {PG_ADMIN}: {exc}", pytrace=False)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def billing_database() -> AsyncIterator[tuple[str, str]]:
    """(name, URL) of this run's billing database on PostgreSQL."""
    name = f"sg_billing_test_{uuid.uuid4().hex[:12]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield name, f"{PG_ADMIN}/{name}"
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def billing_engine(billing_database: tuple[str, str]) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(billing_database[1], pool_size=10, max_overflow=10)
    await upgrade_billing(engine)
    await upgrade_billing(engine)  # idempotent
    yield engine
    await engine.dispose()


async def clean_billing(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for table in (Order, UsageEvent, UsageResource, UsagePeriod):
            await conn.execute(delete(table))


@pytest.fixture
async def service(billing_engine: AsyncEngine, broker_url: str) -> AsyncIterator[BillingService]:
    """The billing service on a clean database and empty queues."""
    await clean_billing(billing_engine)
    await purge_queues(
        broker_url, BILLING_QUEUE, BILLING_DEAD_LETTER_QUEUE, USAGE_QUEUE, USAGE_DEAD_LETTER_QUEUE
    )
    yield BillingService(create_sessionmaker(billing_engine), prices=PriceList())
    await clean_billing(billing_engine)


async def order_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(Order)) or 0)


async def order_totals(engine: AsyncEngine) -> tuple[int, int, Any, int]:
    """(rows, distinct message ids, sum of total_amount, sum of number_of_items)."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(
                    func.count(),
                    func.count(func.distinct(Order.message_id)),
                    func.coalesce(func.sum(Order.total_amount), 0),
                    func.coalesce(func.sum(Order.number_of_items), 0),
                )
            )
        ).one()
    return int(row[0]), int(row[1]), row[2], int(row[3])


async def wait_for(probe: Callable[[], Any], *, within: float, interval: float = 0.1) -> Any:
    """The first truthy result of the async `probe()`; fails after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = await probe()
        if result:
            return result
        if loop.time() >= deadline:
            pytest.fail(f"not reached within {within}s (last: {result!r})", pytrace=False)
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def running_consumers(
    url: str,
    service: BillingService,
    *,
    retry_seconds: float = 60,
    prefetch: int = 20,
    after_commit: AfterCommit | None = None,
) -> AsyncIterator[BillingConsumers]:
    consumers = BillingConsumers(
        url,
        service,
        ConsumerConfig(prefetch=prefetch, retry_seconds=retry_seconds, nack_delay=0.2),
        after_commit=after_commit,
    )
    consumers.start()
    try:
        yield consumers
    finally:
        await consumers.stop()

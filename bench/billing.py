"""Billing throughput: messages/s from a backlog in billing_queue to committed `orders` rows.

    .venv/bin/python bench/billing.py                      # 50,000 messages, PostgreSQL
    .venv/bin/python bench/billing.py --messages 5000      # smoke run
    .venv/bin/python bench/billing.py --processes 2        # two competing billing processes

One run: a fresh RabbitMQ vhost and a fresh PostgreSQL database; the backlog is published the
way the gateway publishes (persistent, message id, mandatory, publisher confirms) BEFORE billing
starts; then `stackgate billing` starts and the bench polls `SELECT count(*) FROM orders` until
every message is a row. In the same run, on the same backlog size, a bare baseline does the same
work with no StackGate code (aio-pika, manual acks, same prefetch, one asyncpg
`INSERT ... ON CONFLICT DO NOTHING` per batch, one `multiple` ack after commit): the ratio is
the figure, as in bench/README.md. Results go to the terminal and
bench/results/billing-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aio_pika
import asyncpg

if not __package__:  # run as a file (python bench/billing.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import RESULTS
from bench.processes import proc_cpu_seconds, stackgate_bin, stop_process

# The topology as stackgate.messaging.topology declares it (kept literal: the bench shares no code).
QUORUM = {
    "x-queue-type": "quorum",
    "x-delivery-limit": 5,
    "x-dead-letter-exchange": "billing_queue.dlx",
    "x-dead-letter-strategy": "at-least-once",
    "x-overflow": "reject-publish",
}


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


async def declare_and_publish(url: str, n: int) -> None:
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        dlx = await channel.declare_exchange(
            "billing_queue.dlx", aio_pika.ExchangeType.FANOUT, durable=True
        )
        dead = await channel.declare_queue(
            "billing_queue.dead", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dead.bind(dlx)
        await channel.declare_queue("billing_queue", durable=True, arguments=QUORUM)

        async def one(i: int) -> None:
            body = json.dumps(
                {"user_id": str(i % 100), "number_of_items": i % 5 + 1, "total_amount": "12.50"}
            ).encode()
            message = aio_pika.Message(
                body,
                message_id=str(uuid.uuid4()),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            await channel.default_exchange.publish(message, "billing_queue", mandatory=True)

        for start in range(0, n, 1000):
            await asyncio.gather(*(one(i) for i in range(start, min(n, start + 1000))))


async def count(pg: asyncpg.Connection) -> int:
    return int(await pg.fetchval("SELECT count(*) FROM orders"))


async def wait_for_rows(
    pg: asyncpg.Connection, n: int, started: float, limit: float, pid: int | None
) -> dict[str, Any]:
    first_at = first_rows = None
    cpu = 0.0
    while True:
        try:
            done = await count(pg)
        except asyncpg.UndefinedTableError:
            done = 0
        now = time.monotonic()
        if pid is not None:
            cpu = proc_cpu_seconds(pid, children=True) or cpu
        if done and first_at is None:
            first_at, first_rows = now, done
        if done >= n:
            break
        if now - started > limit:
            raise SystemExit(f"only {done}/{n} rows after {limit}s")
        await asyncio.sleep(0.05)
    assert first_at is not None and first_rows is not None
    steady = now - first_at
    return {
        "rows": done,
        "seconds_from_start": round(now - started, 3),
        "seconds_first_to_last_row": round(steady, 3),
        "messages_per_s": round((n - first_rows) / steady, 1) if steady > 0 else None,
        "messages_per_s_from_start": round(n / (now - started), 1),
        "cpu_us_per_message": round(cpu * 1e6 / n, 1) if pid is not None else None,
    }


async def stackgate_figure(
    amqp: str, pg_url: str, pg: asyncpg.Connection, n: int, args: argparse.Namespace
) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKGATE_")}
    env.update(
        STACKGATE_BROKER_URL=amqp,
        STACKGATE_BILLING_DATABASE_URL=pg_url,
        STACKGATE_LOG_LEVEL="WARNING",
        STACKGATE_BILLING_PREFETCH=str(args.prefetch),
    )
    processes = []
    command = [str(stackgate_bin()), "billing"]
    started = time.monotonic()
    for i in range(args.processes):
        env["STACKGATE_PORT"] = str(18090 + i)
        processes.append(
            subprocess.Popen(  # noqa: ASYNC220 - started once, not on a hot path
                command,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
    try:
        pid = processes[0].pid if args.processes == 1 else None
        return await wait_for_rows(pg, n, started, args.timeout, pid)
    finally:
        for process in processes:
            stop_process(process, grace=30)


async def baseline_figure(
    amqp: str, pg_url: str, pg: asyncpg.Connection, n: int, args: argparse.Namespace
) -> dict[str, Any]:
    """The same work with no StackGate code: consume, batch, INSERT .. ON CONFLICT, ack."""
    dsn = pg_url.replace("postgresql+asyncpg", "postgresql")
    started = time.monotonic()
    stop = asyncio.Event()

    async def consume() -> None:
        db = await asyncpg.connect(dsn)
        connection = await aio_pika.connect_robust(amqp)
        inbox: asyncio.Queue[Any] = asyncio.Queue()
        async with connection:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=args.prefetch)
            queue = await channel.declare_queue("billing_queue", durable=True, arguments=QUORUM)
            await queue.consume(inbox.put)
            while not stop.is_set():
                try:
                    batch = [await asyncio.wait_for(inbox.get(), 0.2)]
                except TimeoutError:
                    continue
                while not inbox.empty() and len(batch) < args.prefetch:
                    batch.append(inbox.get_nowait())
                rows = []
                for message in batch:
                    body = json.loads(message.body)
                    rows.append(
                        (
                            str(body["user_id"]),
                            int(body["number_of_items"]),
                            Decimal(str(body["total_amount"])),
                            message.message_id,
                            datetime.now(UTC).replace(tzinfo=None),
                        )
                    )
                async with db.transaction():
                    await db.executemany(
                        "INSERT INTO orders (user_id, number_of_items, total_amount, message_id,"
                        " received_at) VALUES ($1, $2, $3, $4, $5)"
                        " ON CONFLICT (message_id) DO NOTHING",
                        rows,
                    )
                await batch[-1].ack(multiple=True)  # one batch in flight: settles it all
        await db.close()

    task = asyncio.create_task(consume())
    try:
        result = await wait_for_rows(pg, n, started, args.timeout, os.getpid())
    finally:
        stop.set()
        await task
    result["cpu_us_per_message"] = None  # shares this process with the poller
    return result


async def main(args: argparse.Namespace) -> dict[str, Any]:
    vhost = f"stackgate-bench-{uuid.uuid4().hex[:10]}"
    amqp = f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}"
    database = f"stackgate_bench_billing_{uuid.uuid4().hex[:10]}"
    pg_url = f"{args.pg_admin_url.rsplit('/', 1)[0]}/{database}".replace(
        "postgresql://", "postgresql+asyncpg://"
    )
    admin = await asyncpg.connect(args.pg_admin_url)
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    await admin.execute(f'CREATE DATABASE "{database}"')
    results: dict[str, Any] = {}
    try:
        pg = await asyncpg.connect(pg_url.replace("postgresql+asyncpg", "postgresql"))
        for figure in ("stackgate", "baseline"):
            if figure == "baseline" and args.no_baseline:
                continue
            if figure == "baseline":
                await pg.execute("TRUNCATE orders")
            t = time.monotonic()
            await declare_and_publish(amqp, args.messages)
            print(f"{figure}: published {args.messages} in {time.monotonic() - t:.1f}s", flush=True)
            measure = stackgate_figure if figure == "stackgate" else baseline_figure
            results[figure] = await measure(amqp, pg_url, pg, args.messages, args)
            print(f"{figure}: {results[figure]}", flush=True)
        await pg.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
        rabbitmqctl("delete_vhost", vhost)
    return results


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    print()
    print(
        f"billing throughput: {args.messages} messages waiting, prefetch {args.prefetch}, "
        f"{args.processes} billing process(es), PostgreSQL"
    )
    print(f"{'figure':<34}{'msg/s':>10}{'msg/s from start':>18}{'CPU us/msg':>12}")
    names = {"stackgate": "stackgate billing", "baseline": "bare aio-pika + asyncpg batch"}
    for key, row in results.items():
        cpu = row["cpu_us_per_message"]
        print(
            f"{names[key]:<34}{row['messages_per_s']:>10}{row['messages_per_s_from_start']:>18}"
            f"{cpu if cpu is not None else '-':>12}"
        )
    if "baseline" in results and results["baseline"]["messages_per_s"]:
        ratio = results["stackgate"]["messages_per_s"] / results["baseline"]["messages_per_s"]
        print(f"ratio stackgate / baseline (msg/s): {ratio:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--prefetch", type=int, default=20)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    arguments = parser.parse_args()
    outcome = asyncio.run(main(arguments))
    report(outcome, arguments)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"billing-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "args": vars(arguments),
                "results": outcome,
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "load_average": os.getloadavg(),
            },
            indent=2,
        )
    )
    print(f"results: {out}")

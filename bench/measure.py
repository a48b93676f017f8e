"""One figure: start the process under test pinned to its core, wait for /health, check one
answer, warm up, drive it for --duration seconds and count the CPU it used (and, with
--profile, one more run under py-spy); then put the table back for the next figure."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import BENCH, RESULTS
from bench.data import Database, db_execute
from bench.figures import Spec
from bench.identity import auth_headers
from bench.load import drive, preflight
from bench.processes import (
    LIVE,
    Server,
    cpu_prefix,
    stackgate_bin,
    stackgate_env,
    start_healthy,
    stop_process,
)


def server_for(
    spec: Spec, db: Database, args: argparse.Namespace, workdir: Path, port: int
) -> Server:
    log = workdir / f"{db.kind}-{spec.key}.log"
    if spec.app in ("serve", "api"):
        env = stackgate_env(db, args, workdir, port)
        command = [str(stackgate_bin()), spec.app] + (
            ["--no-migrate"] if spec.app == "serve" else []
        )
        return Server(f"stackgate {spec.app}", command, env, workdir, args.server_cpu, log)
    env = dict(os.environ, BENCH_DATABASE_URL=db.async_url, BENCH_PROJECT_ID=db.project_id)
    app = "baselines:starlette_app" if spec.app == "starlette" else "baselines:fastapi_app"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--app-dir",
        str(BENCH),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return Server(f"uvicorn {app}", command, env, workdir, args.server_cpu, log)


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy since boot (/proc/stat)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    spec: Spec, db: Database, args: argparse.Namespace, workdir: Path, ids_file: Path
) -> dict[str, Any]:
    server, port = start_healthy(
        lambda port: server_for(spec, db, args, workdir, port),
        args.start_retries,
        args.retry_wait,
    )
    try:
        headers = auth_headers(port, db) if spec.app in ("serve", "api") else {}
        status, sample = preflight(spec, port, db, headers)
        if not 200 <= status <= 299:
            print(f"  !! {spec.label}: the first request answered {status}: {sample}")
        if args.warmup > 0:
            drive(spec, port, args, ids_file, args.warmup, headers)
        before = (
            server.cpu_seconds(),
            children_cpu_seconds(),
            machine_busy_seconds(),
            time.monotonic(),
        )
        result = drive(spec, port, args, ids_file, args.duration, headers)
        cpu = server.cpu_seconds() - before[0]
        client = children_cpu_seconds() - before[1]
        busy = machine_busy_seconds() - before[2]
        wall = time.monotonic() - before[3]
        result["server_cpu_s"] = round(cpu, 3)
        result["server_cores"] = round(cpu / wall, 3)
        result["client_cores"] = round(client / wall, 3)
        # Everything else that ran meanwhile: the database server (PostgreSQL), and any
        # neighbour on a shared machine. High values mean a noisy measurement.
        result["other_cores"] = round(max(0.0, busy - cpu - client) / wall, 3)
        result["cpu_us_per_request"] = (
            round(cpu / result["requests"] * 1e6, 1) if result["requests"] else None
        )
        if args.profile:
            result["profile"] = profile(spec, server, port, args, ids_file, db.kind, headers)
        if spec.key in ("post", "post_api"):
            prefix = "bench-sg" if spec.key == "post" else "bench-api"
            rows = db_execute(
                db,
                "SELECT status, COUNT(*) FROM server WHERE name LIKE "
                f"'{prefix}-%' GROUP BY status ORDER BY status",
            )
            result["created_by_status"] = {str(s): int(n) for s, n in rows}
        if not server.alive():
            result["server_died"] = server.tail()
        return result
    finally:
        server.stop()


def profile(
    spec: Spec,
    server: Server,
    port: int,
    args: argparse.Namespace,
    ids_file: Path,
    kind: str,
    headers: dict[str, str],
) -> str:
    """One more run of the same load with py-spy attached (after the measured one, so the
    figures stay unaffected); collapsed stacks, which speedscope.app and flamegraph.pl open."""
    assert server.proc is not None
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"profile-{args.stamp}-{kind}-{spec.key}.txt"
    seconds = max(2, round(args.duration))
    spy = subprocess.Popen(
        [*cpu_prefix(args.client_cpu), args.profile, "record", "--pid", str(server.proc.pid),
         "--rate", "200", "--format", "raw", "--nonblocking", "--gil", "--duration", str(seconds),
         "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    LIVE[spy.pid] = spy
    try:
        drive(spec, port, args, ids_file, seconds, headers)
        spy.wait(seconds + 30)
    finally:
        stop_process(spy)
        LIVE.pop(spy.pid, None)
    return str(out)


def clean_up_after(spec: Spec, db: Database, workdir: Path) -> None:
    """Put the table back to the loaded rows, so each figure sees the same database."""
    if spec.key == "F":
        # F's rows show a task no operation drives: StackGate's reconciler would repair them
        # during the next figure. They were only there to be written.
        db_execute(db, "DELETE FROM server WHERE name LIKE 'bench-f-%'")
    elif spec.key in ("post", "post_api"):
        # Otherwise the next `stackgate serve` would resume building them while measured.
        db_execute(db, "DELETE FROM operation")
        db_execute(db, "DELETE FROM server WHERE name LIKE 'bench-sg-%' OR name LIKE 'bench-api-%'")
        for path in workdir.glob(f"simulator-{db.kind}.db*"):
            path.unlink()

"""Gateway overhead: requests/s through `stackgate gateway` against straight to `stackgate api`,
measured in the same run on the same database (bench/README.md, "Gateway overhead").

    .venv/bin/python bench/gateway.py                 # SQLite, 10 s per figure
    .venv/bin/python bench/gateway.py --quick         # 2 s per figure
    .venv/bin/python bench/gateway.py --database postgresql --rounds 3

Figures (GET /api/v1/flavors as the demo user, a bearer token on every request):
  api            `stackgate api` alone: the baseline
  gateway        `stackgate gateway` -> `stackgate api` over HTTP (both on the server core)
  gateway_redis  the same with the rate limit on and counted in Redis (127.0.0.1:6379)
  serve          `stackgate serve`: the gateway with the API mounted in the same process
The ratios against `api` are the figures; CPU us/req adds up every server process of a figure.
Reuses the bench package's processes, load generation (wrk or bench/loadgen.py) and databases.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if not __package__:  # run as a file (python bench/gateway.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import RESULTS
from bench.client import http_get
from bench.data import Database, drop_database, migrate, postgres_database, sqlite_database
from bench.figures import Spec
from bench.identity import auth_headers, prepare_identity
from bench.load import drive, error_count, pick_loadgen
from bench.processes import (
    Server,
    default_cpus,
    stackgate_bin,
    stackgate_env,
    start_healthy,
    stop_all,
)
from bench.report import environment

PATH = "/api/v1/flavors"
FIGURES = {
    "api": "stackgate api (baseline)",
    "gateway": "gateway -> api over HTTP",
    "gateway_redis": "gateway -> api, rate limit in Redis",
    "serve": "serve (API mounted in the gateway)",
}


def start(
    name: str, command: list[str], env: dict[str, str], workdir: Path, args: argparse.Namespace
) -> tuple[Server, int]:
    return start_healthy(
        lambda port: Server(
            name,
            command,
            {**env, "STACKGATE_PORT": str(port)},
            workdir,
            args.server_cpu,
            workdir / f"{name}.log",
        )
    )


def processes_for(
    key: str, db: Database, args: argparse.Namespace, workdir: Path
) -> tuple[list[Server], int]:
    """Start what figure `key` measures; returns the processes and the port to load."""
    env = {**stackgate_env(db, args, workdir), "STACKGATE_EMBEDDED_WORKER": "false"}
    sg = str(stackgate_bin())
    if key == "serve":
        server, port = start("serve", [sg, "serve", "--no-migrate"], env, workdir, args)
        return [server], port
    api, api_port = start("api", [sg, "api"], env, workdir, args)
    if key == "api":
        return [api], api_port
    gateway_env = {**env, "STACKGATE_API_URL": f"http://127.0.0.1:{api_port}"}
    if key == "gateway_redis":
        gateway_env["STACKGATE_REDIS_URL"] = args.redis_url
        gateway_env["STACKGATE_GATEWAY_RATE_LIMIT"] = "100000000/minute"
    try:
        gateway, port = start("gateway", [sg, "gateway"], gateway_env, workdir, args)
    except RuntimeError:
        api.stop()
        raise
    return [api, gateway], port


def measure(key: str, db: Database, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    servers, port = processes_for(key, db, args, workdir)
    try:
        headers = auth_headers(port, db)
        status, body = http_get(f"http://127.0.0.1:{port}{PATH}", headers=headers)
        if status != 200:
            raise RuntimeError(f"{key}: GET {PATH} answered {status}: {body[:300]!r}")
        spec = Spec(key, FIGURES[key], "-", "static", PATH)
        ids_file = workdir / "no-ids.txt"
        ids_file.write_text("")
        drive(spec, port, args, ids_file, args.warmup, headers)
        cpu_before = [s.cpu_seconds() for s in servers]
        result = drive(spec, port, args, ids_file, args.duration, headers)
        cpu = sum(s.cpu_seconds() for s in servers) - sum(cpu_before)
        result["cpu_us_per_request"] = cpu * 1e6 / result["requests"] if result["requests"] else 0
        result["errors"] = error_count(result)
        return result
    finally:
        for server in reversed(servers):
            server.stop()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Gateway overhead against the API alone.")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--duration", type=float, help="seconds per figure (default 10)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up (default 2)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat; report medians")
    parser.add_argument("--quick", action="store_true", help="2 s per figure, 1 s warm-up")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", help=f"comma-separated figures (all: {','.join(FIGURES)})")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--start-retries", type=int, default=1)
    parser.add_argument("--retry-wait", type=float, default=10)
    args = parser.parse_args()
    args.duration = args.duration or (2.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    args.only = [k for k in (args.only or ",".join(FIGURES)).split(",") if k]
    if unknown := set(args.only) - set(FIGURES):
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")
    args.loadgen = pick_loadgen(args.loadgen)
    args.server_cpu, args.client_cpu = default_cpus()
    return args


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="stackgate-bench-gateway-"))
    db = sqlite_database(workdir) if args.database == "sqlite" else None
    print(
        f"Gateway overhead: GET {PATH}, {args.database}; {args.duration:g} s per figure after "
        f"{args.warmup:g} s warm-up, {args.rounds} round(s); {args.connections} connections "
        f"({args.loadgen}); servers on CPU {args.server_cpu}, load on CPU {args.client_cpu}"
    )
    rounds: list[dict[str, Any]] = []
    try:
        if db is None:
            db = postgres_database(args.pg_admin_url)
        migrate(db, args, workdir)
        prepare_identity(db, args, workdir)
        for number in range(args.rounds):
            results: dict[str, Any] = {}
            for key in args.only:
                try:
                    res = measure(key, db, args, workdir)
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                    print(f"  !! {FIGURES[key]}: FAILED: {exc}")
                    continue
                results[key] = res
                print(
                    f"  [{number + 1}] {FIGURES[key]:<38} {res['rps']:>8,.0f} req/s  p50 "
                    f"{res['p50_us'] / 1000:>6.2f} ms  p99 {res['p99_us'] / 1000:>7.2f} ms  "
                    f"{res['cpu_us_per_request']:>6,.0f} us CPU/req"
                    + (f"  !! {res['errors']} errors" if res["errors"] else ""),
                    flush=True,
                )
            rounds.append(results)
    finally:
        stop_all()
        if db is not None:
            drop_database(db)
        shutil.rmtree(workdir, ignore_errors=True)
    summary = report(rounds)
    out = RESULTS / f"gateway-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "path": PATH,
                "database": args.database,
                "environment": environment(args),
                "summary": summary,
                "rounds": rounds,
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
    print(f"\nresults: {out}")
    return 0


def report(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for key in FIGURES:
        got = [r[key] for r in rounds if key in r]
        if got:
            summary[key] = {
                "rps": statistics.median(g["rps"] for g in got),
                "p50_ms": statistics.median(g["p50_us"] for g in got) / 1000,
                "p99_ms": statistics.median(g["p99_us"] for g in got) / 1000,
                "cpu_us_per_request": statistics.median(g["cpu_us_per_request"] for g in got),
                "errors": sum(g["errors"] for g in got),
            }
    base = summary.get("api")
    print("\nThrough the gateway / straight to the API (same run; higher is better)")
    print(f"  {'figure':<38} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>11}  ratio")
    for key, item in summary.items():
        ratio = ""
        if base and key != "api":
            item["ratio_rps"] = item["rps"] / base["rps"]
            item["ratio_cpu"] = base["cpu_us_per_request"] / item["cpu_us_per_request"]
            ratio = f"{item['ratio_rps']:.2f}x req/s; {item['ratio_cpu']:.2f}x CPU/req"
        print(
            f"  {FIGURES[key]:<38} {item['rps']:>9,.0f} {item['p50_ms']:>8.2f} "
            f"{item['p99_ms']:>8.2f} {item['cpu_us_per_request']:>11,.0f}  {ratio}"
        )
    return summary


if __name__ == "__main__":
    sys.exit(main())

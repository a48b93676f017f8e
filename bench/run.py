"""StackGate benchmark: the real server against bare baselines measured in the same run.

For each database (SQLite, PostgreSQL) this creates a fresh database, runs `stackgate migrate`,
loads --rows servers straight into the `server` table, then measures one figure at a time:
start the process under test pinned to one core (`taskset`), wait for /health, warm up, drive
it for --duration seconds with wrk (or bench/loadgen.py) pinned to another core, stop it.

    .venv/bin/python bench/run.py                    # both databases, 100,000 rows, 10 s each
    .venv/bin/python bench/run.py --quick            # smoke run: 10,000 rows, 2 s each
    .venv/bin/python bench/run.py --databases sqlite --only C,get

StackGate figures are quoted as ratios against the baseline measured minutes earlier on the same
machine and table (performance.md): absolute numbers move 20-25% between runs, ratios do not.
Results go to the terminal and to bench/results/<timestamp>.json. See bench/README.md.

The work is in the bench package beside this file (bench/__init__.py lists its modules); this
is the command line: the arguments, and the run over each database.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if not __package__:  # run as a file (python bench/run.py): make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import RESULTS
from bench.data import (
    check_server_columns,
    check_state_mix,
    db_execute,
    drop_database,
    load_rows,
    migrate,
    postgres_database,
    sqlite_database,
)
from bench.figures import SPEC_BY_KEY, SPECS, TARGETS
from bench.identity import prepare_identity
from bench.load import pick_loadgen
from bench.measure import clean_up_after, measure
from bench.processes import default_cpus, stop_all
from bench.report import environment, print_figure, print_summary, print_table, ratios, summarize


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark StackGate against bare baselines measured in the same run."
    )
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="comma-separated: sqlite, postgresql (default both)",
    )
    parser.add_argument("--rows", type=int, help="servers in the table (default 100000)")
    parser.add_argument("--duration", type=float, help="seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up before each (default 2)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat every figure; report medians (default 1)"
    )
    parser.add_argument("--connections", type=int, default=64, help="connections (default 64)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 10,000 rows, 2 s per measurement, 1 s warm-up",
    )
    parser.add_argument(
        "--only",
        help="comma-separated figures to run, e.g. A,C,get "
        f"(all: {','.join(s.key for s in SPECS)})",
    )
    parser.add_argument(
        "--pg-admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="where to CREATE DATABASE (a fresh one per run, dropped after)",
    )
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--server-cpu", default=None, help="core for the server (default 0)")
    parser.add_argument("--client-cpu", default=None, help="core(s) for wrk (default 1)")
    parser.add_argument("--log-level", default="WARNING", help="StackGate's STACKGATE_LOG_LEVEL")
    parser.add_argument(
        "--id-sample",
        type=int,
        default=10000,
        help="GET by id rotates through this many random ids of the table",
    )
    parser.add_argument("--start-retries", type=int, default=2)
    parser.add_argument("--retry-wait", type=float, default=60)
    parser.add_argument(
        "--profile",
        nargs="?",
        const="py-spy",
        help="after each figure, one more run under py-spy (path to py-spy, "
        "default: py-spy on PATH); collapsed stacks go to bench/results/",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    parser.add_argument("--output", type=Path, help="JSON results file (default bench/results/)")
    args = parser.parse_args()
    args.rows = args.rows or (10_000 if args.quick else 100_000)
    args.duration = args.duration or (2.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    args.stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    if args.profile:
        found = shutil.which(args.profile)
        if found is None:
            parser.error(f"py-spy not found: {args.profile} (pip install py-spy)")
        args.profile = found
    args.databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    for kind in args.databases:
        if kind not in ("sqlite", "postgresql"):
            parser.error(f"unknown database {kind!r}")
    args.only = set(args.only.split(",")) if args.only else None
    if args.only and (unknown := args.only - set(SPEC_BY_KEY)):
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")
    args.loadgen = pick_loadgen(args.loadgen)
    server_cpu, client_cpu = default_cpus()
    if server_cpu is not None:
        args.server_cpu = args.server_cpu or server_cpu
        args.client_cpu = args.client_cpu or client_cpu
    return args


def run_database(kind: str, args: argparse.Namespace, workroot: Path) -> dict[str, Any]:
    workdir = workroot / kind
    workdir.mkdir()
    db = sqlite_database(workdir) if kind == "sqlite" else postgres_database(args.pg_admin_url)
    try:
        print(f"\n== {kind}: {db.url}")
        started = time.monotonic()
        migrate(db, args, workdir)
        prepare_identity(db, args, workdir)
        check_server_columns(db)
        db.ids = load_rows(db, args.rows)
        print(f"  migrated, loaded {len(db.ids):,} servers in {time.monotonic() - started:.1f} s")
        sample = random.Random(7).sample(db.ids, min(args.id_sample, len(db.ids)))
        ids_file = workdir / "ids.txt"
        ids_file.write_text("\n".join(sample) + "\n")
        rounds: list[dict[str, Any]] = []
        for number in range(1, args.rounds + 1):
            if args.rounds > 1:
                print(f"  -- round {number}/{args.rounds}")
            results: dict[str, Any] = {}
            for spec in SPECS:
                if kind not in spec.databases or (args.only and spec.key not in args.only):
                    continue
                try:
                    res = measure(spec, db, args, workdir, ids_file)
                except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
                    # One broken figure (say, a server that will not start while src/ is
                    # mid-edit) should not cost the others.
                    print(f"  !! {spec.label}: FAILED: {exc}", flush=True)
                    results[spec.key] = {"error": str(exc)}
                    with contextlib.suppress(Exception):
                        clean_up_after(spec, db, workdir)
                    continue
                results[spec.key] = res
                print_figure(spec, res)
                clean_up_after(spec, db, workdir)
            rounds.append(results)
        keys = [s.key for s in SPECS if any(s.key in r for r in rounds)]
        summary = {}
        for key in keys:
            good = [r[key] for r in rounds if key in r and "error" not in r[key]]
            summary[key] = (
                summarize(good)
                if good
                else {"error": [r[key] for r in rounds if key in r][-1]["error"]}
            )
        final = db_execute(db, "SELECT COUNT(*) FROM server")[0][0]
        return {
            "rows": args.rows,
            "rows_at_end": int(final),
            "summary": summary,
            "ratios": {key: ratios(summary, key) for key in keys if SPEC_BY_KEY[key].vs},
            "rounds": rounds,
        }
    finally:
        drop_database(db)


def main() -> int:
    args = parse_args()
    check_state_mix()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workroot = Path(tempfile.mkdtemp(prefix="stackgate-bench-"))
    print(
        f"StackGate benchmark: {', '.join(args.databases)}; {args.rows:,} servers; "
        f"{args.duration:g} s per figure after {args.warmup:g} s warm-up, {args.rounds} round(s); "
        f"{args.connections} connections ({args.loadgen}); server on CPU {args.server_cpu}, "
        f"load generator on CPU {args.client_cpu}; work dir {workroot}"
    )
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {
            k: (sorted(v) if isinstance(v, set) else str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
        },
        "environment": environment(args),
        "targets": {
            k: {"baseline": b, "min_ratio": m, "text": t} for k, (b, m, t) in TARGETS.items()
        },
        "figures": {
            s.key: {"label": s.label, "app": s.app, "path": s.path, "vs": s.vs, "note": s.note}
            for s in SPECS
        },
        "databases": {},
    }
    try:
        for kind in args.databases:
            report["databases"][kind] = run_database(kind, args, workroot)
            print_table(kind, report["databases"][kind]["summary"], args.rows, args.rounds)
    finally:
        stop_all()
        if args.keep:
            print(f"work directory kept: {workroot}")
        else:
            shutil.rmtree(workroot, ignore_errors=True)
        report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        if report["databases"]:
            out = args.output or RESULTS / f"{args.stamp}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(report, indent=2, default=str) + "\n")
            print(f"\nresults: {out}")
    print_summary(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

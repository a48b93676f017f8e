"""Live event streams under load: N open `GET /api/v1/events` streams on one API process while
servers are created at a steady rate (bench/README.md, "Event streams").

    .venv/bin/python bench/events.py                          # both databases, 200 streams
    .venv/bin/python bench/events.py --quick                  # 20 streams, 5 s per phase
    .venv/bin/python bench/events.py --databases postgresql --streams 200 --rate 5 --duration 20

For each database: a fresh database, `stackgate migrate`, then `stackgate api` (one process)
and a separate `stackgate worker`, both pinned to the server core; the simulator at speed 0.
The client (bench/sseclient.py, its own process on the client core) runs one phase at a time:
open the streams as the demo user, then POST /api/v1/vms at --rate per second for --duration
seconds, then --settle seconds more. Phases: 0 streams (the baseline: the same API process,
the same create rate), 1 stream, N streams, and 0 streams again (drift check).

Per phase: every (stream, event) latency = receive time - the event's `occurred_at` (the
recorder's clock as the change flushed, just before its commit; one machine, one clock), so
it covers commit, numbering, the feed's wake-up (NOTIFY on PostgreSQL, its poll on SQLite),
the fan-out, SSE and the socket; delivered/expected per stream against the outbox table; and
the API process's CPU (/proc) over the window: per event produced, per delivered event, and
what the streams add per delivered event against the 0-stream baseline's CPU per create.
Results go to the terminal and bench/results/events-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if not __package__:  # run as a file (python bench/events.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import BENCH, RESULTS
from bench.client import http_get, http_send
from bench.data import (
    Database,
    db_execute,
    drop_database,
    migrate,
    postgres_database,
    sqlite_database,
)
from bench.identity import login, prepare_identity
from bench.measure import machine_busy_seconds
from bench.processes import (
    LIVE,
    Server,
    cpu_prefix,
    default_cpus,
    proc_cpu_seconds,
    stackgate_bin,
    stackgate_env,
    start_healthy,
    stop_all,
    stop_process,
)
from bench.report import environment

CREATE_BODY = '{"name": "%%s", "flavor": "m1.tiny", "image": "cirros-0.6", "networks": ["%s"]}'
NETWORK, CIDR = "bench-events-net", "10.129.0.0/16"


def make_network(port: int, headers: dict[str, str]) -> str:
    """A network of the bench's own, made through the API once the worker runs (the one
    prepare_identity() made lives on in StackGate's table only: it wipes the simulator)."""
    base = f"http://127.0.0.1:{port}/api/v1"
    status, answer = http_send(
        "POST", f"{base}/networks", json.dumps({"name": NETWORK}), headers=headers
    )
    if status not in (200, 201, 202):
        raise RuntimeError(f"POST /api/v1/networks answered {status}: {answer[:300]!r}")
    network_id = str(json.loads(answer)["id"])
    subnet = json.dumps({"network_id": network_id, "cidr": CIDR})
    status, answer = http_send("POST", f"{base}/subnets", subnet, headers=headers)
    if status not in (200, 201, 202):
        raise RuntimeError(f"POST /api/v1/subnets answered {status}: {answer[:300]!r}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, answer = http_get(f"{base}/networks/{network_id}", headers=headers)
        if status == 200 and json.loads(answer).get("status") == "ACTIVE":
            return network_id
        time.sleep(0.2)
    raise RuntimeError(f"network {network_id} did not become ACTIVE: {answer[:300]!r}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Event streams under a steady create rate.")
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite, postgresql")
    parser.add_argument("--streams", type=int, help="open streams (default 200; --quick 20)")
    parser.add_argument("--rate", type=float, default=5.0, help="creates per second (default 5)")
    parser.add_argument("--duration", type=float, help="seconds of creates (default 20; quick 5)")
    parser.add_argument(
        "--settle", type=float, help="seconds after the last create still in the window (3; 2)"
    )
    parser.add_argument(
        "--phases",
        default="0,1,N,0",
        help="streams per phase, N = --streams; 0 is the baseline (default 0,1,N,0)",
    )
    parser.add_argument(
        "--worker",
        choices=["separate", "embedded"],
        default="separate",
        help="separate: `stackgate api` + `stackgate worker` (default); "
        "embedded: `stackgate serve` (worker, gateway and API in one process)",
    )
    parser.add_argument("--sim-speed", default="0", help="STACKGATE_SIM_SPEED (default 0)")
    parser.add_argument("--quick", action="store_true", help="20 streams, 5 s of creates")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--server-cpu", default=None, help="core of the server processes")
    parser.add_argument("--client-cpu", default=None, help="core(s) of the client")
    parser.add_argument("--start-retries", type=int, default=1)
    parser.add_argument("--retry-wait", type=float, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    args = parser.parse_args()
    args.streams = args.streams or (20 if args.quick else 200)
    args.duration = args.duration or (5.0 if args.quick else 20.0)
    args.settle = args.settle if args.settle is not None else (2.0 if args.quick else 3.0)
    args.phases = [
        args.streams if p.strip().upper() == "N" else int(p) for p in args.phases.split(",")
    ]
    args.databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    for kind in args.databases:
        if kind not in ("sqlite", "postgresql"):
            parser.error(f"unknown database {kind!r}")
    args.loadgen = "bench/sseclient.py"
    server_cpu, client_cpu = default_cpus()
    args.server_cpu = args.server_cpu or server_cpu
    args.client_cpu = args.client_cpu or client_cpu
    return args


def last_seq(db: Database) -> int:
    rows = db_execute(db, "SELECT last_seq FROM event_sequence")
    return int(rows[0][0]) if rows else 0


def snapshot(servers: list[Server], client: subprocess.Popen[bytes]) -> dict[str, float]:
    return {
        **{s.name: s.cpu_seconds() for s in servers},
        "client": proc_cpu_seconds(client.pid),
        "machine": machine_busy_seconds(),
        "wall": time.monotonic(),
    }


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def hung(client: subprocess.Popen[bytes]) -> None:
    """The client's stack into its log, then the end of it."""
    with contextlib.suppress(ProcessLookupError):
        client.send_signal(signal.SIGUSR1)
        time.sleep(2)
        client.kill()


def run_phase(
    number: int,
    streams: int,
    db: Database,
    servers: list[Server],
    port: int,
    token: str,
    network_id: str,
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, Any]:
    """One phase: the client opens `streams` streams, creates at the rate, reports back."""
    out = workdir / f"client-{db.kind}-{number}.json"
    cfg = {
        "port": port,
        "token": token,
        "streams": streams,
        "rate": args.rate,
        "duration": args.duration,
        "settle": args.settle,
        "prefix": f"bench-ev{number}",
        "body": CREATE_BODY % network_id,
        "out": str(out),
    }
    command = [*cpu_prefix(args.client_cpu), sys.executable, str(BENCH / "sseclient.py")]
    with open(workdir / f"client-{db.kind}-{number}.log", "wb") as err:
        client = subprocess.Popen(
            [*command, json.dumps(cfg)],
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
        )
    LIVE[client.pid] = client
    # The client bounds its own waits; this only guards against a hung one.
    watchdog = threading.Timer(args.duration + args.settle + 180, hung, (client,))
    watchdog.start()
    marks: dict[str, dict[str, Any]] = {}
    snaps: dict[str, dict[str, float]] = {}
    seqs: dict[str, int] = {}
    try:
        assert client.stdout is not None
        for line in client.stdout:
            msg = json.loads(line)
            marks[msg["at"]] = msg
            if msg["at"] == "go":
                snaps["go"] = snapshot(servers, client)
                seqs["go"] = last_seq(db)
            elif msg["at"] == "window_end":
                snaps["end"] = snapshot(servers, client)
                seqs["end"] = last_seq(db)
            elif msg["at"] == "error":
                print(f"  !! streams that did not open: {msg['sample']}")
            elif msg["at"] == "done":
                break
        client.wait(30)
    finally:
        watchdog.cancel()
        stop_process(client)
        LIVE.pop(client.pid, None)
    if "done" not in marks or "end" not in snaps:
        raise RuntimeError(f"the client did not finish (got {list(marks)}); see {workdir}")
    seqs["done"] = last_seq(db)
    data = json.loads(out.read_text())
    return analyse(streams, db, servers, data, marks, snaps, seqs)


def analyse(
    streams: int,
    db: Database,
    servers: list[Server],
    data: dict[str, Any],
    marks: dict[str, dict[str, Any]],
    snaps: dict[str, dict[str, float]],
    seqs: dict[str, int],
) -> dict[str, Any]:
    go, end, done = seqs["go"], seqs["end"], seqs["done"]
    rows = db_execute(
        db,
        f"SELECT seq, event_type FROM outbox_event WHERE seq > {go} AND seq <= {done} "
        f"AND project_id = '{db.project_id}'",
    )
    expected = {int(seq): str(kind) for seq, kind in rows}
    produced_in_window = sum(1 for seq in expected if seq <= end)
    window_end_at = float(marks["window_end"]["time"])
    latencies: list[float] = []
    by_type: dict[str, list[float]] = {}
    first_last: dict[int, list[float]] = {}
    missing = duplicates = out_of_order = unexpected = dropped = in_window = 0
    for stream in data["streams"]:
        seen: set[int] = set()
        previous = 0
        for seq, received, occurred in stream["events"]:
            if seq <= go:
                continue
            if seq in seen:
                duplicates += 1
                continue
            seen.add(seq)
            if seq < previous:
                out_of_order += 1
            previous = seq
            if seq not in expected:
                unexpected += 1
                continue
            if received <= window_end_at:
                in_window += 1
            ms = (received - occurred) * 1000
            latencies.append(ms)
            by_type.setdefault(expected[seq], []).append(ms)
            span = first_last.setdefault(seq, [received, received])
            span[0], span[1] = min(span[0], received), max(span[1], received)
        missing += len(expected.keys() - seen)
        dropped += bool(stream["ended_by_server"])
    cpu = {name: snaps["end"][name] - snaps["go"][name] for name in snaps["go"]}
    wall = cpu.pop("wall")
    api = servers[0].name
    others = sum(cpu[s.name] for s in servers[1:])
    posts = data["posts"]
    creates = sum(n for status, n in posts["statuses"].items() if status.startswith("2"))
    delivered = len(latencies)
    spread = [(last - first) * 1000 for first, last in first_last.values()]
    result: dict[str, Any] = {
        "streams": streams,
        "streams_failed": sum(1 for s in data["streams"] if s["status"] != 200),
        "streams_dropped": dropped,
        "stream_errors": [s["error"] for s in data["streams"] if s["error"]][:3],
        "creates": creates,
        "posts": posts,
        "events_produced": len(expected),
        "events_produced_in_window": produced_in_window,
        "event_types": {k: sum(1 for v in expected.values() if v == k) for k in by_type},
        "expected_deliveries": len(expected) * streams,
        "delivered": delivered,
        "delivered_in_window": in_window,
        "missing": missing,
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        "unexpected": unexpected,
        "latency_ms": {
            "p50": pct(latencies, 0.5),
            "p90": pct(latencies, 0.9),
            "p99": pct(latencies, 0.99),
            "max": max(latencies) if latencies else None,
        },
        "latency_p50_ms_by_type": {k: pct(v, 0.5) for k, v in sorted(by_type.items())},
        "fanout_spread_ms": {"p50": pct(spread, 0.5), "p99": pct(spread, 0.99)},
        "window_s": round(wall, 3),
        "api_cpu_s": round(cpu[api], 3),
        "api_cores": round(cpu[api] / wall, 3),
        "other_server_cores": round(others / wall, 3),
        "client_cores": round(cpu["client"] / wall, 3),
        "rest_of_machine_cores": round(
            max(0.0, cpu["machine"] - cpu[api] - others - cpu["client"]) / wall, 3
        ),
        "api_ms_per_create": cpu[api] * 1000 / creates if creates else None,
        "api_ms_per_event_produced": (
            cpu[api] * 1000 / produced_in_window if produced_in_window else None
        ),
        "api_ms_per_delivered": cpu[api] * 1000 / in_window if in_window else None,
    }
    return result


def add_baseline(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """What the streams add: each phase's API CPU over what the 0-stream phases spent per
    create, per delivered event."""
    base = [p["api_ms_per_create"] for p in phases if p["streams"] == 0 and p["api_ms_per_create"]]
    if not base:
        return {}
    per_create = statistics.mean(base)
    for p in phases:
        if p["streams"] and p["delivered_in_window"] and p["creates"]:
            extra = p["api_cpu_s"] * 1000 - per_create * p["creates"]
            p["extra_api_ms"] = extra
            p["extra_api_ms_per_delivered"] = extra / p["delivered_in_window"]
            p["api_cpu_ratio_vs_baseline"] = p["api_ms_per_create"] / per_create
    return {"api_ms_per_create": per_create, "rounds": base}


def run_database(kind: str, args: argparse.Namespace, workroot: Path) -> dict[str, Any]:
    workdir = workroot / kind
    workdir.mkdir()
    db = sqlite_database(workdir) if kind == "sqlite" else postgres_database(args.pg_admin_url)
    servers: list[Server] = []
    try:
        print(f"\n== {kind}: {db.url}")
        migrate(db, args, workdir)
        prepare_identity(db, args, workdir, keep_simulator=True)
        env = {**stackgate_env(db, args, workdir), "STACKGATE_SIM_SPEED": args.sim_speed}
        sg = str(stackgate_bin())
        app = ["api"] if args.worker == "separate" else ["serve", "--no-migrate"]
        api, port = start_healthy(
            lambda port: Server(
                f"stackgate {app[0]}",
                [sg, *app],
                {**env, "STACKGATE_PORT": str(port)},
                workdir,
                args.server_cpu,
                workdir / f"{kind}-{app[0]}.log",
            ),
            args.start_retries,
            args.retry_wait,
        )
        servers.append(api)
        if args.worker == "separate":
            worker = Server(
                "stackgate worker",
                [sg, "worker"],
                env,
                workdir,
                args.server_cpu,
                workdir / f"{kind}-worker.log",
            )
            worker.start()
            servers.append(worker)
            time.sleep(3)
            if not worker.alive():
                raise RuntimeError(f"stackgate worker died:\n{worker.tail()}")
        token = login(port, db).get("access_token", "")
        network_id = make_network(port, {"Authorization": f"Bearer {token}"} if token else {})
        phases = []
        for number, streams in enumerate(args.phases, 1):
            res = run_phase(number, streams, db, servers, port, token, network_id, args, workdir)
            phases.append(res)
            print_phase(res)
            for server in servers:
                if not server.alive():
                    raise RuntimeError(f"{server.name} died:\n{server.tail()}")
        baseline = add_baseline(phases)
        status = db_execute(
            db,
            "SELECT status, COUNT(*) FROM server WHERE name LIKE 'bench-ev%' "
            "GROUP BY status ORDER BY status",
        )
        return {
            "phases": phases,
            "baseline": baseline,
            "created_by_status": {str(s): int(n) for s, n in status},
            "api_log_tail": api.tail(20),
        }
    finally:
        for server in reversed(servers):
            server.stop()
        drop_database(db)


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_phase(p: dict[str, Any]) -> None:
    lat = p["latency_ms"]
    print(
        f"  {p['streams']:>4} streams: {p['creates']} creates, {p['events_produced']} events, "
        f"delivered {p['delivered']:,}/{p['expected_deliveries']:,}"
        + (f" (!! {p['missing']} missing)" if p["missing"] else "")
        + (
            f" (!! {p['streams_dropped']} streams ended by the server)"
            if p["streams_dropped"]
            else ""
        )
        + f"; latency p50 {fmt(lat['p50'])} ms, p99 {fmt(lat['p99'])} ms; API "
        f"{p['api_cores']:.2f} cores, {fmt(p['api_ms_per_create'], 2)} ms/create; client "
        f"{p['client_cores']:.2f} cores",
        flush=True,
    )


def print_table(kind: str, result: dict[str, Any]) -> None:
    base = result["baseline"]
    print(f"\n{kind}: one API process, creates at a steady rate (same run, same process)")
    headers = ["streams", "creates", "events", "delivered/expected", "p50 ms", "p99 ms",
               "max ms", "API cores", "API ms/create", "API ms/event", "API ms/delivered",
               "added ms/delivered", "client cores"]  # fmt: skip
    rows = []
    for p in result["phases"]:
        lat = p["latency_ms"]
        rows.append(
            [
                str(p["streams"]),
                str(p["creates"]),
                str(p["events_produced"]),
                f"{p['delivered']:,}/{p['expected_deliveries']:,}"
                + (f" !! {p['streams_dropped']} dropped" if p["streams_dropped"] else ""),
                fmt(lat["p50"]),
                fmt(lat["p99"]),
                fmt(lat["max"]),
                f"{p['api_cores']:.2f}",
                fmt(p["api_ms_per_create"], 2),
                fmt(p["api_ms_per_event_produced"], 2),
                fmt(p["api_ms_per_delivered"], 3),
                fmt(p.get("extra_api_ms_per_delivered"), 3),
                f"{p['client_cores']:.2f}",
            ]
        )
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        print("  " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    if base:
        print(f"  baseline (0 streams): {base['api_ms_per_create']:.2f} ms API CPU per create")
    for p in result["phases"]:
        posts = p["posts"]
        print(
            f"  {p['streams']} streams: POST /api/v1/vms p50 {fmt(posts['p50_ms'])} ms, p99 "
            f"{fmt(posts['p99_ms'])} ms; worker {p['other_server_cores']:.2f} cores, the rest "
            f"of the machine {p['rest_of_machine_cores']:.2f} cores"
            + (
                f"; streams add {p['extra_api_ms'] / p['window_s'] / 1000:.2f} API cores"
                if "extra_api_ms" in p
                else ""
            )
        )
    for p in result["phases"]:
        if p["streams"]:
            kinds = ", ".join(f"{k} {fmt(v)}" for k, v in p["latency_p50_ms_by_type"].items())
            print(f"  {p['streams']} streams, p50 ms by event type: {kinds}")
            print(
                f"  {p['streams']} streams: fan-out spread (last - first stream) p50 "
                f"{fmt(p['fanout_spread_ms']['p50'])} ms, p99 {fmt(p['fanout_spread_ms']['p99'])}"
                f" ms; duplicates {p['duplicates']}, out of order {p['out_of_order']}, "
                f"ended by the server {p['streams_dropped']}"
            )
    print(f"  created servers by status at the end: {result['created_by_status']}")


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    workroot = Path(tempfile.mkdtemp(prefix="stackgate-bench-events-"))
    print(
        f"Event streams: {', '.join(args.databases)}; phases {args.phases} streams; "
        f"{args.rate:g} creates/s for {args.duration:g} s (+{args.settle:g} s); worker "
        f"{args.worker}; simulator speed {args.sim_speed}; servers on CPU {args.server_cpu}, "
        f"client on CPU {args.client_cpu}; work dir {workroot}"
    )
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {k: v for k, v in vars(args).items()},
        "environment": environment(args),
        "databases": {},
    }
    try:
        for kind in args.databases:
            try:
                report["databases"][kind] = run_database(kind, args, workroot)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                print(f"  !! {kind}: FAILED: {exc}")
                report["databases"][kind] = {"error": str(exc)}
                continue
            print_table(kind, report["databases"][kind])
    finally:
        stop_all()
        if args.keep:
            print(f"work directory kept: {workroot}")
        else:
            shutil.rmtree(workroot, ignore_errors=True)
        report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        out = RESULTS / f"events-{stamp}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

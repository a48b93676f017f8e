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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import resource
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
BIN = Path(sys.executable).parent
PROJECT_ID = "00000000-0000-0000-0000-000000000001"  # stackgate.core.context.DEFAULT_PROJECT_ID

with contextlib.suppress(ImportError):  # keep the bench usable while src/ is mid-edit
    from stackgate.core.context import DEFAULT_PROJECT_ID as PROJECT_ID

TARGETS = {
    # figure: (baseline, minimum ratio of requests/s, what performance.md says)
    "get": ("C", 1.0, ">= 1.0x C"),
    "list": ("E", 1.0, ">= 1.0x E"),
    "post": ("F", 0.8, ">= 0.8x F"),
}


# What is measured ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    key: str
    label: str
    app: str  # starlette | fastapi | serve | api
    mode: str  # static | ids | post
    path: str
    body: str = ""
    vs: tuple[str, ...] = ()  # baselines this figure is a ratio against
    databases: tuple[str, ...] = ("sqlite", "postgresql")
    note: str = ""


POST_BODY = '{"name": "%s-%%d", "flavor": "m1.small", "image": "ubuntu-22.04"}'
# StackGate's creates go on a /16 of their own: the project's default private network (a /22)
# runs out of addresses after ~1,000 servers, fewer than one POST figure makes.
BENCH_NETWORK, BENCH_CIDR = "bench-net", "10.128.0.0/16"
NET_POST_BODY = POST_BODY[:-1] + f', "networks": ["{BENCH_NETWORK}"]}}'

# fmt: off
SPECS = [
    Spec("A", "A  bare Starlette JSON", "starlette", "static", "/a"),
    Spec("B", "B  FastAPI + Pydantic model", "fastapi", "static", "/b", vs=("A",)),
    Spec("C", "C  FastAPI + ORM session.get", "fastapi", "ids", "/c/", vs=("A",)),
    Spec("get", "GET /api/v1/vms/{id}", "serve", "ids", "/api/v1/vms/", vs=("C", "A", "D")),
    Spec("D", "D  FastAPI + raw asyncpg fetchrow", "fastapi", "ids", "/d/", vs=("A",),
         databases=("postgresql",), note="PostgreSQL only"),
    Spec("E", "E  FastAPI + ORM keyset page 50", "fastapi", "static", "/e?per_page=50"),
    Spec("list", "GET /api/v1/vms?per_page=50", "serve", "static", "/api/v1/vms?per_page=50",
         vs=("E",), note="page mode: also counts the matching rows for `total`"),
    Spec("list_keyset", "GET /api/v1/vms?limit=50", "serve", "static", "/api/v1/vms?limit=50",
         vs=("E",), note="keyset mode (next_cursor, no total); extra"),
    Spec("F", "F  FastAPI + ORM insert, 201", "fastapi", "post", "/f", POST_BODY % "bench-f"),
    Spec("post", "POST /api/v1/vms", "serve", "post", "/api/v1/vms", NET_POST_BODY % "bench-sg",
         vs=("F",), note="stackgate serve: its in-process worker builds the servers meanwhile"),
    Spec("post_api", "POST /api/v1/vms (api only)", "api", "post", "/api/v1/vms",
         NET_POST_BODY % "bench-api", vs=("F",),
         note="stackgate api: no worker in the process; extra"),
]
# fmt: on
SPEC_BY_KEY = {s.key: s for s in SPECS}


# Processes ----------------------------------------------------------------------------------

LIVE: dict[int, subprocess.Popen[bytes]] = {}


def _cpu_prefix(cpu: str | None) -> list[str]:
    if cpu is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", cpu]


class Server:
    """A process under test: started in its own session, stopped with its whole group."""

    def __init__(
        self, name: str, cmd: list[str], env: dict[str, str], cwd: Path, cpu: str | None, log: Path
    ) -> None:
        self.name, self.cmd, self.env, self.cwd, self.cpu, self.log = name, cmd, env, cwd, cpu, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                _cpu_prefix(self.cpu) + self.cmd,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        LIVE[self.proc.pid] = self.proc

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU of the process (all its threads), from /proc."""
        assert self.proc is not None
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            LIVE.pop(self.proc.pid, None)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def stop_process(proc: subprocess.Popen[bytes], grace: float = 10) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def stop_all() -> None:
    for proc in list(LIVE.values()):
        stop_process(proc, grace=5)
    LIVE.clear()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Straight to 127.0.0.1, whatever http_proxy says.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(
    url: str, timeout: float = 5, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    try:
        with _HTTP.open(
            urllib.request.Request(url, headers=headers or {}), timeout=timeout
        ) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def make_bench_network(port: int, headers: dict[str, str]) -> None:
    """The network the POST figures create their servers on (NET_POST_BODY)."""
    base = f"http://127.0.0.1:{port}/api/v1"
    status, answer = http_send(
        "POST", f"{base}/networks", json.dumps({"name": BENCH_NETWORK}), headers=headers
    )
    if status not in (200, 202):
        raise RuntimeError(f"POST /api/v1/networks answered {status}: {answer[:300]!r}")
    subnet = {"network_id": json.loads(answer)["id"], "cidr": BENCH_CIDR}
    status, answer = http_send("POST", f"{base}/subnets", json.dumps(subnet), headers=headers)
    if status not in (200, 202):
        raise RuntimeError(f"POST /api/v1/subnets answered {status}: {answer[:300]!r}")


def http_send(
    method: str, url: str, body: str, timeout: float = 10, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    req = urllib.request.Request(
        url,
        data=body.encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method=method,
    )
    try:
        with _HTTP.open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_healthy(server: Server, port: int, timeout: float = 90) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            return False
        with contextlib.suppress(OSError):
            if http_get(f"http://127.0.0.1:{port}/health", timeout=2)[0] == 200:
                return True
        time.sleep(0.1)
    return False


# Databases ----------------------------------------------------------------------------------


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


def _check_state_mix() -> None:
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
            "teach SERVER_COLUMNS and make_rows() in bench/run.py about them"
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


# Load generation ----------------------------------------------------------------------------


def load_command(port: int, args: argparse.Namespace, duration: float) -> list[str]:
    url = f"http://127.0.0.1:{port}"
    if args.loadgen == "wrk":
        seconds = f"{max(1, round(duration))}s"
        lua = str(BENCH / "wrk.lua")
        tool = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}"]
        return [*_cpu_prefix(args.client_cpu), *tool, "--timeout", "30s", "-s", lua, url]
    loadgen = [sys.executable, str(BENCH / "loadgen.py"), "--url", url]
    options = ["--connections", str(args.connections), "--duration", str(duration)]
    return [*_cpu_prefix(args.client_cpu), *loadgen, *options]


def drive(
    spec: Spec,
    port: int,
    args: argparse.Namespace,
    ids_file: Path,
    duration: float,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    env = dict(
        os.environ,
        BENCH_MODE=spec.mode,
        BENCH_PATH=spec.path,
        BENCH_IDS_FILE=str(ids_file),
        BENCH_BODY=spec.body,
        BENCH_HEADERS="\n".join(f"{k}: {v}" for k, v in (headers or {}).items()),
    )
    out = subprocess.run(
        load_command(port, args, duration),
        env=env,
        capture_output=True,
        text=True,
        timeout=duration + 120,
        check=False,
    )
    result: dict[str, Any] | None = None
    bad = None
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            result = json.loads(line[len("BENCH_JSON ") :])
        elif line.startswith("BENCH_BAD "):
            bad = line[len("BENCH_BAD ") :]
    if result is None:
        raise RuntimeError(f"load generator failed ({out.returncode}): {out.stdout}{out.stderr}")
    if bad:
        result["sample_bad_answer"] = bad
    seconds = result["duration_us"] / 1e6
    result["rps"] = result["requests"] / seconds if seconds else 0.0
    return result


# One measurement ----------------------------------------------------------------------------


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


def stackgate_env(
    db: Database, args: argparse.Namespace, workdir: Path, port: int | None = None
) -> dict[str, str]:
    env = dict(
        os.environ,
        STACKGATE_DATABASE_URL=db.url,
        STACKGATE_HOST="127.0.0.1",
        STACKGATE_LOG_LEVEL=args.log_level,
        STACKGATE_ADMIN_PASSWORD=db.password,
        STACKGATE_DEMO_PASSWORD=db.password,
        STACKGATE_SIM_SPEED="0",
        # `serve` runs behind the gateway's per-client rate limit: off, the bench is one client.
        STACKGATE_GATEWAY_RATE_LIMIT="",
        STACKGATE_SIM_DATABASE_URL=f"sqlite:///{workdir / f'simulator-{db.kind}.db'}",
        STACKGATE_BILLING_DATABASE_URL=f"sqlite:///{workdir / 'billing.db'}",
        # Room for every server the POST figures create, on few hosts (each create scans
        # the simulated hosts, so a thousand small ones would measure the simulator).
        STACKGATE_SIM_HYPERVISORS="8",
        STACKGATE_SIM_HYPERVISOR_VCPUS="1000000",
        STACKGATE_SIM_HYPERVISOR_RAM_MB="2000000000",
        STACKGATE_SIM_HYPERVISOR_DISK_GB="20000000",
    )
    if port is not None:
        env["STACKGATE_PORT"] = str(port)
    return env


def login(port: int, db: Database, user: str = "demo", project: str = "demo") -> dict[str, Any]:
    """A bearer token (POST /api/v1/auth/tokens); {} when StackGate has no such route."""
    body = json.dumps({"username": user, "password": db.password, "project": project})
    status, answer = http_send("POST", f"http://127.0.0.1:{port}/api/v1/auth/tokens", body)
    if status in (404, 405):
        return {}
    if status not in (200, 201):
        raise RuntimeError(f"login as {user} answered {status}: {answer[:300]!r}")
    token: dict[str, Any] = json.loads(answer)
    return token


def auth_headers(port: int, db: Database) -> dict[str, str]:
    if not db.auth:
        return {}
    return {"Authorization": f"Bearer {login(port, db)['access_token']}"}


def prepare_identity(db: Database, args: argparse.Namespace, workdir: Path) -> None:
    """Start StackGate once: it seeds its identity on the first start. With identity in place,
    the figures act as the demo user in the demo project, whose quotas are lifted (a table of
    100,000 servers is far over Nova's default of 10 instances)."""
    port = free_port()
    server = Server(
        "stackgate serve (first start)",
        [str(stackgate_bin()), "serve", "--no-migrate"],
        stackgate_env(db, args, workdir, port),
        workdir,
        args.server_cpu,
        workdir / f"{db.kind}-first-start.log",
    )
    for attempt in range(args.start_retries + 1):
        server.start()
        if wait_healthy(server, port):
            break
        print(f"  ! {server.name} did not become healthy; its log ends with:\n{server.tail()}")
        server.stop()
        if attempt == args.start_retries:
            raise RuntimeError(f"{server.name} did not start")
        print(f"  ! retrying in {args.retry_wait:.0f} s ({attempt + 1}/{args.start_retries})")
        time.sleep(args.retry_wait)
    try:
        token = login(port, db)
        headers = {"Authorization": f"Bearer {token['access_token']}"} if token else {}
        db.auth = bool(token)
        if token:
            db.user_id = token["user"]["id"]
        # Which project does the API put this caller's servers in? Ask it: create one.
        status, answer = http_send(
            "POST",
            f"http://127.0.0.1:{port}/api/v1/vms",
            POST_BODY.replace("%%d", "") % "bench-probe",
            headers=headers,
        )
        if status not in (200, 202):
            raise RuntimeError(f"POST /api/v1/vms answered {status}: {answer[:300]!r}")
        db.project_id = json.loads(answer)["project_id"]
        lifted = "no identity"
        if token:
            admin = login(port, db, "admin", "admin")
            admin_headers = {"Authorization": f"Bearer {admin['access_token']}"}
            url = f"http://127.0.0.1:{port}/api/v1/projects/{db.project_id}/quotas"
            status, answer = http_get(url, headers=admin_headers)
            names = list(json.loads(answer).get("quotas", {})) if status == 200 else []
            body = json.dumps({"quotas": dict.fromkeys(names or ["instances", "cores", "ram"], -1)})
            status, answer = http_send("PUT", url, body, headers=admin_headers)
            lifted = "yes" if status == 200 else f"NO ({status})"
            if status != 200:
                print(f"  !! could not lift the project's quotas ({status}): {answer[:300]!r}")
            make_bench_network(port, headers)
        print(
            f"  identity: {'the demo user, bearer token' if token else 'no /api/v1/auth/tokens'};"
            f" servers go to project {db.project_id}; quotas lifted: {lifted}"
        )
    finally:
        server.stop()
    db_execute(db, "DELETE FROM operation")
    db_execute(db, "DELETE FROM server WHERE name LIKE 'bench-probe%'")
    for path in workdir.glob(f"simulator-{db.kind}.db*"):
        path.unlink()


def stackgate_bin() -> Path:
    local = BIN / "stackgate"
    if local.exists():
        return local
    found = shutil.which("stackgate")
    if found is None:
        raise SystemExit("the `stackgate` command is not installed (make install)")
    return Path(found)


def preflight(spec: Spec, port: int, db: Database, headers: dict[str, str]) -> tuple[int, str]:
    url = f"http://127.0.0.1:{port}{spec.path}"
    if spec.mode == "ids":
        status, body = http_get(url + db.ids[0], headers=headers)
    elif spec.mode == "post":
        status, body = http_send("POST", url, spec.body % 0, headers=headers)
    else:
        status, body = http_get(url, headers=headers)
    return status, body[:300].decode(errors="replace")


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
    for attempt in range(args.start_retries + 1):
        port = free_port()
        server = server_for(spec, db, args, workdir, port)
        server.start()
        try:
            if not wait_healthy(server, port):
                print(
                    f"  ! {server.name} did not become healthy; its log ends with:\n{server.tail()}"
                )
                if attempt < args.start_retries:
                    print(
                        f"  ! retrying in {args.retry_wait:.0f} s "
                        f"({attempt + 1}/{args.start_retries})"
                    )
                    server.stop()
                    time.sleep(args.retry_wait)
                    continue
                raise RuntimeError(f"{server.name} did not start")
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
    raise AssertionError("unreachable")


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
        [*_cpu_prefix(args.client_cpu), args.profile, "record", "--pid", str(server.proc.pid),
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


# Reporting ----------------------------------------------------------------------------------


def _errors(res: dict[str, Any]) -> int:
    return int(
        res["non2xx"]
        + res["errors_connect"]
        + res["errors_read"]
        + res["errors_write"]
        + res["errors_timeout"]
    )


def summarize(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure over its rounds: the median of each number, and every error."""
    out: dict[str, Any] = {"rounds": len(rounds)}
    for name in ("rps", "p50_us", "p90_us", "p99_us", "cpu_us_per_request", "server_cores",
                 "client_cores", "other_cores"):  # fmt: skip
        values = [r[name] for r in rounds if r.get(name) is not None]
        out[name] = statistics.median(values) if values else None
    for name in ("requests", "non2xx", "errors_connect", "errors_read", "errors_write",
                 "errors_timeout"):  # fmt: skip
        out[name] = sum(int(r[name]) for r in rounds)
    out["errors"] = _errors(out)
    for name in ("sample_bad_answer", "server_died", "created_by_status"):
        found = [r[name] for r in rounds if r.get(name)]
        if found:
            out[name] = found[-1]
    return out


def ratios(summary: dict[str, Any], key: str) -> dict[str, dict[str, float]]:
    """A figure against each of its baselines: by requests/s, and by server CPU per request
    (higher is better for both; the CPU one holds up better on a busy machine)."""
    out: dict[str, dict[str, float]] = {}
    res = summary.get(key)
    for base in SPEC_BY_KEY[key].vs:
        ref = summary.get(base)
        if not res or not ref or not ref.get("rps") or not res.get("rps"):
            continue
        item = {"rps": round(res["rps"] / ref["rps"], 3)}
        if res.get("cpu_us_per_request") and ref.get("cpu_us_per_request"):
            item["cpu"] = round(ref["cpu_us_per_request"] / res["cpu_us_per_request"], 3)
        out[base] = item
    return out


def _fmt_ms(us: float | None) -> str:
    if us is None:
        return "-"
    ms = us / 1000
    return f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}"


def _verdict(key: str, base: str, value: float) -> str:
    target = TARGETS.get(key)
    if not target or target[0] != base:
        return ""
    return f" (target {target[1]:g}: {'met' if value >= target[1] else 'MISSED'})"


def print_table(kind: str, summary: dict[str, Any], rows: int, rounds: int) -> None:
    headers = ["figure", "req/s", "p50 ms", "p99 ms", "CPU us/req", "errors",
               "ratio by req/s", "ratio by CPU/req"]  # fmt: skip
    table: list[list[str]] = []
    for spec in SPECS:
        res = summary.get(spec.key)
        if res is None:
            continue
        if "error" in res:
            table.append([spec.label, "FAILED", "-", "-", "-", "-", res["error"][:60], ""])
            continue
        by_rps, by_cpu = [], []
        for base, item in ratios(summary, spec.key).items():
            by_rps.append(f"{item['rps']:.2f}x {base}" + _verdict(spec.key, base, item["rps"]))
            if "cpu" in item:
                by_cpu.append(f"{item['cpu']:.2f}x {base}")
        cpu = res.get("cpu_us_per_request")
        table.append(
            [
                spec.label,
                f"{res['rps']:,.0f}",
                _fmt_ms(res["p50_us"]),
                _fmt_ms(res["p99_us"]),
                f"{cpu:,.0f}" if cpu else "-",
                f"!! {res['errors']}" if res["errors"] else "0",
                ", ".join(by_rps),
                ", ".join(by_cpu),
            ]
        )
    title = f"{kind}: {rows:,} servers" + (f", median of {rounds} rounds" if rounds > 1 else "")
    print()
    try:
        from rich.console import Console
        from rich.table import Table

        rt = Table(title=title, title_justify="left")
        for i, h in enumerate(headers):
            rt.add_column(h, justify="left" if i in (0, 6, 7) else "right")
        for row in table:
            rt.add_row(*row)
        Console(width=180).print(rt)
    except ImportError:
        print(title)
        widths = [max(len(r[i]) for r in [headers, *table]) for i in range(len(headers))]
        for row in [headers, *table]:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    for spec in SPECS:
        res = summary.get(spec.key)
        if res is None or "error" in res:
            continue
        if res["errors"]:
            print(
                f"  !! {spec.label}: {res['non2xx']} answers outside 2xx, socket errors "
                f"connect/read/write/timeout {res['errors_connect']}/{res['errors_read']}/"
                f"{res['errors_write']}/{res['errors_timeout']}"
                + (f"; e.g. {res['sample_bad_answer']}" if res.get("sample_bad_answer") else "")
            )
        if res.get("server_died"):
            print(f"  !! {spec.label}: the server died during the run:\n{res['server_died']}")
        if res.get("created_by_status"):
            print(
                f"  {spec.label}: what it created, by status when the run ended: "
                f"{res['created_by_status']}"
            )
        if (res.get("other_cores") or 0) > 0.3 and kind == "sqlite":
            print(
                f"  ! {spec.label}: other processes used {res['other_cores']:.2f} cores meanwhile"
                " (a busy machine: compare ratios, and the CPU/req column, not absolutes)"
            )


def print_summary(report: dict[str, Any]) -> None:
    dbs = report["databases"]
    if not dbs:
        return
    kinds = list(dbs)
    rows = [(key, base, text) for key, (base, _, text) in TARGETS.items()]
    rows.append(("get", "D", "stretch >= 0.6x D"))
    rows = [r for r in rows if any(dbs[k]["ratios"].get(r[0], {}).get(r[1]) for k in kinds)]
    if rows:
        print("\nThe figures: StackGate / the baseline measured in the same run (req/s; CPU/req)")
        print(f"  {'figure':<30}" + "".join(f"{k:>24}" for k in kinds) + "   target")
    for key, base, text in rows:
        cells = []
        for kind in kinds:
            item = dbs[kind]["ratios"].get(key, {}).get(base)
            cells.append(f"{item['rps']:.2f}x {base}; {item.get('cpu', 0):.2f}x" if item else "-")
        if all(c == "-" for c in cells):
            continue
        print(f"  {SPEC_BY_KEY[key].label:<30}" + "".join(f"{c:>24}" for c in cells) + f"   {text}")


def environment(args: argparse.Namespace) -> dict[str, Any]:
    import importlib.metadata as md

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadgen": args.loadgen,
        "server_cpu": args.server_cpu,
        "client_cpu": args.client_cpu,
    }
    with contextlib.suppress(OSError):
        model = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
        info["cpu_model"] = model.group(1) if model else None
    for pkg in (
        "stackgate",
        "fastapi",
        "starlette",
        "pydantic",
        "sqlalchemy",
        "uvicorn",
        "uvloop",
        "httptools",
        "asyncpg",
        "aiosqlite",
    ):
        with contextlib.suppress(md.PackageNotFoundError):
            info[pkg] = md.version(pkg)
    info["sqlite"] = sqlite3.sqlite_version
    with contextlib.suppress(Exception):
        info["commit"] = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "src"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        info["src_dirty"] = bool(dirty)
    if args.loadgen == "wrk":
        with contextlib.suppress(Exception):
            out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
            info["wrk"] = (out.stdout or out.stderr).splitlines()[0]
    return info


# Main ---------------------------------------------------------------------------------------


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
    if args.loadgen == "auto":
        args.loadgen = "wrk" if shutil.which("wrk") else "python"
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (cpus or 1) >= 2 and shutil.which("taskset"):
        allowed = sorted(os.sched_getaffinity(0))
        args.server_cpu = args.server_cpu or str(allowed[0])
        args.client_cpu = args.client_cpu or ",".join(str(c) for c in allowed[1:])
    return args


def run_database(kind: str, args: argparse.Namespace, workroot: Path) -> dict[str, Any]:
    workdir = workroot / kind
    workdir.mkdir()
    db = sqlite_database(workdir) if kind == "sqlite" else postgres_database(args.pg_admin_url)
    try:
        print(f"\n== {kind}: {db.url}")
        started = time.monotonic()
        env = stackgate_env(db, args, workdir)
        migrate = subprocess.run(
            [str(stackgate_bin()), "migrate"],
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"stackgate migrate failed:\n{migrate.stdout}{migrate.stderr}")
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
                errors = _errors(res)
                cpu = res.get("cpu_us_per_request")
                print(
                    f"  {spec.label:<34} {res['rps']:>8,.0f} req/s  p50 {_fmt_ms(res['p50_us']):>6}"
                    f" ms  p99 {_fmt_ms(res['p99_us']):>7} ms  {cpu or 0:>7,.0f} us CPU/req"
                    f"  (others {res['other_cores']:.2f} cores)"
                    + (f"  !! {errors} errors/non-2xx" if errors else ""),
                    flush=True,
                )
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
    _check_state_mix()
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

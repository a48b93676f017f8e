"""The processes a benchmark starts: each in its own session, pinned to a core with `taskset`,
stopped with its whole process group; whatever is still running, stop_all() stops (Ctrl-C)."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bench.client import http_get

if TYPE_CHECKING:
    from bench.data import Database

BIN = Path(sys.executable).parent
LIVE: dict[int, subprocess.Popen[bytes]] = {}


def cpu_prefix(cpu: str | None) -> list[str]:
    if cpu is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", cpu]


def default_cpus() -> tuple[str | None, str | None]:
    """(server core, load generator cores): the first allowed core and the others; (None, None)
    on one core or without taskset, when nothing is pinned."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (cpus or 1) >= 2 and shutil.which("taskset"):
        allowed = sorted(os.sched_getaffinity(0))
        return str(allowed[0]), ",".join(str(c) for c in allowed[1:])
    return None, None


def proc_cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU of a process (all its threads; with `children`, also its reaped
    children), from /proc; 0.0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11 : 15 if children else 13]) / os.sysconf("SC_CLK_TCK")


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
                cpu_prefix(self.cpu) + self.cmd,
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
        return proc_cpu_seconds(self.proc.pid)

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
    """SIGTERM to the process group, SIGKILL after `grace` seconds."""
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
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def start_healthy(
    make: Callable[[int], Server], retries: int = 0, retry_wait: float = 0
) -> tuple[Server, int]:
    """Start `make(port)` on a free port and wait for its /health; up to `retries` more tries
    (`retry_wait` seconds apart), each on a fresh port. Raises RuntimeError when none starts."""
    for attempt in range(retries + 1):
        port = free_port()
        server = make(port)
        server.start()
        if wait_healthy(server, port):
            return server, port
        print(f"  ! {server.name} did not become healthy; its log ends with:\n{server.tail()}")
        server.stop()
        if attempt == retries:
            raise RuntimeError(f"{server.name} did not start")
        print(f"  ! retrying in {retry_wait:.0f} s ({attempt + 1}/{retries})")
        time.sleep(retry_wait)
    raise AssertionError("unreachable")


def stackgate_bin() -> Path:
    local = BIN / "stackgate"
    if local.exists():
        return local
    found = shutil.which("stackgate")
    if found is None:
        raise SystemExit("the `stackgate` command is not installed (make install)")
    return Path(found)


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

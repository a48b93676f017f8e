"""Real processes over real HTTP: the installed `stackgate` command on free loopback ports.

Each test gets its own control-plane database (a fresh SQLite file, or the run's PostgreSQL or
MariaDB database cleaned before and after) and its own simulator file, so a restarted process
finds the cloud it left. Every process a test starts is killed when the test ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from stackgate.core.tags import tag_for
from stackgate.providers.base import ProviderServer
from stackgate.providers.simulator import SimulatorProvider
from tests.conftest import ADMIN_PASSWORD, BACKEND, DEMO_PASSWORD, clean_database

STACKGATE = Path(sys.executable).with_name("stackgate")
STARTUP_TIMEOUT = 30.0
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float, interval: float = 0.1
) -> T:
    """The first truthy result of `probe()`; fails after `within` seconds, never hangs."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = await probe()
        if result:
            return result
        if loop.time() >= deadline:
            pytest.fail(f"not reached within {within}s (last: {result!r})", pytrace=False)
        await asyncio.sleep(interval)


class Process:
    """One `stackgate` command running in its own process group, logging to a file."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.args = args
        self.log = log
        self._log_file = log.open("ab")
        self.popen = subprocess.Popen(
            [str(STACKGATE), *args],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    async def wait(self, within: float) -> int:
        """The exit code once the process ends (killed with its group after `within` s)."""
        try:
            return await asyncio.to_thread(self.popen.wait, within)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"`stackgate {' '.join(self.args)}` did not exit in {within}s")

    def signal(self, sig: int) -> None:
        """Signal the group, while its leader lives (a reaped pid may be reused)."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole group: no shutdown hook runs, as in a crash."""
        self.signal(signal.SIGKILL)
        self.popen.wait(10)
        self._log_file.close()


class Launcher:
    """Starts `stackgate` commands for one test and guarantees they are gone afterwards."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.processes: list[Process] = []

    def start(self, *args: str, **env: str) -> Process:
        name = f"{len(self.processes):02d}-{args[0]}.log"
        process = Process(list(args), {**self.env, **env}, self.workdir, self.workdir / name)
        self.processes.append(process)
        return process

    async def run(self, *args: str, within: float = 60) -> None:
        """A command that must finish successfully (e.g. `migrate`)."""
        process = self.start(*args)
        code = await process.wait(within)
        assert code == 0, f"stackgate {' '.join(args)} exited {code}:\n{process.tail()}"

    async def serving(self, *args: str, **env: str) -> tuple[Process, str]:
        """Start a server command on a free port; returns it with its base URL once it answers."""
        port = free_port()
        process = self.start(*args, STACKGATE_PORT=str(port), **env)
        base_url = f"http://127.0.0.1:{port}"

        async def healthy() -> bool:
            assert process.running, f"stackgate {args[0]} died:\n{process.tail()}"
            try:
                async with httpx.AsyncClient(base_url=base_url, timeout=2) as http:
                    return (await http.get("/health")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(healthy, within=STARTUP_TIMEOUT)
        return process, base_url

    def kill_all(self) -> None:
        for process in self.processes:
            process.kill()


@pytest.fixture
async def e2e_database_url(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[str]:
    """A fresh SQLite file per test, or the run's server database cleaned before and after."""
    if BACKEND == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'stackgate.db'}"
        return
    await clean_database(engine)
    try:
        yield database_url
    finally:
        await clean_database(engine)


@pytest.fixture
def sim_database_url(tmp_path: Path) -> str:
    """The simulated cloud's own file: it outlives the processes of one test."""
    return f"sqlite+aiosqlite:///{tmp_path / 'simulator.db'}"


def stackgate_env(**values: str) -> dict[str, str]:
    """The caller's environment without any STACKGATE_* setting, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKGATE_")}
    env.update(values)
    return env


@pytest.fixture
def launcher(tmp_path: Path, e2e_database_url: str, sim_database_url: str) -> Iterator[Launcher]:
    """Runs in tmp_path (no stray .env or ./data is read); kills every process at the end."""
    env = stackgate_env(
        STACKGATE_DATABASE_URL=e2e_database_url,
        STACKGATE_SIM_DATABASE_URL=sim_database_url,
        STACKGATE_HOST="127.0.0.1",
        STACKGATE_SIM_SPEED="1",
        STACKGATE_SIM_SEED="7",
        STACKGATE_SIM_DURATIONS=json.dumps({"create": [2, 3]}),
        STACKGATE_WORKER_POLL_INTERVAL="0.1",
        STACKGATE_LOG_LEVEL="INFO",
        # The first start seeds the admin and demo users with these passwords, cheaply hashed.
        STACKGATE_ADMIN_PASSWORD=ADMIN_PASSWORD,
        STACKGATE_DEMO_PASSWORD=DEMO_PASSWORD,
        STACKGATE_PASSWORD_HASH_FAST="true",
    )
    runner = Launcher(tmp_path, env)
    try:
        yield runner
    finally:
        runner.kill_all()


@contextlib.asynccontextmanager
async def api(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client logged in as the demo user, a member of the demo project."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        login = {"username": "demo", "password": DEMO_PASSWORD, "project": "demo"}
        response = await http.post("/api/v1/auth/tokens", json=login)
        assert response.status_code == 201, response.text
        http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        yield http


async def public_get(base_url: str, path: str) -> Any:
    """GET a page that needs no login (health, documentation)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        response = await http.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def cloud_servers(sim_database_url: str, server_id: str) -> list[ProviderServer]:
    """What the simulated cloud holds for one of our servers (read after the processes ended)."""
    sim = SimulatorProvider(database_url=sim_database_url, speed=0)
    await sim.start()
    try:
        return await sim.compute.servers(tags=(tag_for(server_id),))
    finally:
        await sim.close()

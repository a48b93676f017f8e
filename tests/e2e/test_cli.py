"""The `stackgate` client commands as a user runs them: real processes, a temporary config
file, over real HTTP to a real `stackgate serve` whose simulated builds take a few seconds."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import STACKGATE, Launcher, api, eventually, stackgate_env

pytestmark = pytest.mark.e2e
# Builds of 3-4 s: long enough to watch them and to outlast a one-second --wait-timeout.
SLOW_BUILDS = json.dumps({"create": [3, 4]})
CREATE = ("--flavor", "m1.tiny", "--image", "cirros-0.6")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


class User:
    """Someone at a shell: their own HOME and config file, no STACKGATE_* setting of ours."""

    def __init__(self, home: Path) -> None:
        home.mkdir()
        self.config = home / ".config" / "stackgate" / "config.toml"
        self.env = stackgate_env(
            HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), STACKGATE_CONFIG=str(self.config)
        )
        self.cwd = home

    async def spawn(self, *args: str, stdin: bool = False) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            str(STACKGATE),
            *args,
            env=self.env,
            cwd=self.cwd,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )

    async def run(self, *args: str, input: str | None = None, within: float = 30) -> Result:
        process = await self.spawn(*args, stdin=input is not None)
        try:
            out, err = await asyncio.wait_for(
                process.communicate(input.encode() if input is not None else None), within
            )
        except TimeoutError:
            process.kill()
            await process.wait()
            pytest.fail(f"`stackgate {' '.join(args)}` did not exit in {within}s")
        assert process.returncode is not None
        return Result(process.returncode, out.decode(), err.decode())

    async def ok(self, *args: str, input: str | None = None, within: float = 30) -> Result:
        result = await self.run(*args, input=input, within=within)
        assert result.code == 0, f"stackgate {' '.join(args)} exited {result.code}:\n{result}"
        return result

    async def login(self, url: str) -> Result:
        return await self.ok(
            *("login", "--url", url, "--username", "demo", "--project", "demo"),
            "--password-stdin",
            input=DEMO_PASSWORD + "\n",
        )


@contextlib.asynccontextmanager
async def watching(user: User, *args: str) -> AsyncIterator[list[dict[str, Any]]]:
    """`stackgate event watch ARGS -f json` running meanwhile; the list fills with its events."""
    process = await user.spawn("event", "watch", *args, "-f", "json")
    events: list[dict[str, Any]] = []

    async def read() -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            events.append(json.loads(raw))

    reader = asyncio.create_task(read())
    try:
        yield events
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
        await reader


def one_json_object(stdout: str) -> dict[str, Any]:
    """The whole of stdout is one JSON object: nothing printed before or after it."""
    value = json.loads(stdout)
    assert isinstance(value, dict), stdout
    return value


def no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr and 'File "' not in stderr, stderr


async def test_login_create_watch_list_resume_and_delete(
    launcher: Launcher, tmp_path: Path
) -> None:
    _, url = await launcher.serving("serve", STACKGATE_SIM_DURATIONS=SLOW_BUILDS)
    user = User(tmp_path / "home")

    # Login: the token is saved in the profile, readable by the user alone.
    login = await user.login(url)
    assert "demo" in login.stdout
    assert stat.S_IMODE(user.config.stat().st_mode) == 0o600
    assert stat.S_IMODE(user.config.parent.stat().st_mode) == 0o700
    assert DEMO_PASSWORD not in user.config.read_text()

    # A create that waits, with a watcher of compute events running meanwhile. The watcher
    # replays from the start (--since 0), so it misses nothing whenever it connects; the
    # project's seeded network events in that replay must not pass the type filter.
    async with watching(user, "--type", "compute.instance.*", "--since", "0") as watched:
        created = await user.ok("server", "create", "web-1", *CREATE, "--wait", "-f", "json")
        server = one_json_object(created.stdout)
        assert (server["name"], server["status"], server["task_state"]) == (
            "web-1",
            "ACTIVE",
            None,
        )
        assert server["id"]
        # Not a terminal: no progress line, nothing on stderr.
        assert created.stderr == ""

        async def ended() -> bool:
            return any(
                e["event_type"] == "compute.instance.create.end"
                and e["resource"]["id"] == server["id"]
                for e in watched
            )

        await eventually(ended, within=10)

    assert watched, "the watcher printed nothing"
    assert all(e["event_type"].startswith("compute.instance.") for e in watched), watched
    mine = [e for e in watched if e["resource"]["id"] == server["id"]]
    assert mine[0]["event_type"] == "compute.instance.create.start"
    assert [e["resource"]["status"] for e in mine] == ["BUILD"] * (len(mine) - 1) + ["ACTIVE"]
    seqs = [e["seq"] for e in watched]
    assert seqs == sorted(set(seqs)), seqs

    # Meanwhile: --count (exactly that many events, then exit 0), the list, and a wait that
    # runs out of time (exit 124, with how to resume on stderr).
    counted, listed, timed_out = await asyncio.gather(
        user.ok("event", "watch", "--since", "0", "--count", "2", "-f", "json"),
        user.ok("server", "list", "-f", "value", "-c", "id"),
        user.run(
            "server", "create", "web-2", *CREATE, "--wait", "--wait-timeout", "1", "-f", "json"
        ),
    )
    assert [json.loads(line)["seq"] for line in counted.stdout.splitlines()] == [1, 2]
    assert server["id"] in listed.stdout.split()
    assert timed_out.code == 124, timed_out
    assert timed_out.stdout == ""
    no_traceback(timed_out.stderr)
    assert "Timed out" in timed_out.stderr
    resume = re.search(r"stackgate operation wait (\S+)", timed_out.stderr)
    assert resume, timed_out.stderr

    # Resuming that wait, and deleting web-1 meanwhile.
    resumed, deleted = await asyncio.gather(
        user.ok("operation", "wait", resume[1], "-f", "json"),
        user.ok("server", "delete", "web-1", "--wait"),
    )
    operation = one_json_object(resumed.stdout)
    assert (operation["id"], operation["status"]) == (resume[1], "succeeded")
    assert (operation["action"], operation["resource_type"]) == ("create", "server")
    assert deleted.stdout == ""

    # web-1 is gone from the list; web-2 is there, ACTIVE.
    listed = await user.ok("server", "list", "-f", "value", "-c", "id", "-c", "status")
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert rows == [[operation["resource_id"], "ACTIVE"]], listed.stdout


async def test_the_server_dying_mid_wait_is_one_clear_error(
    launcher: Launcher, tmp_path: Path
) -> None:
    """SIGKILL the server while `server create --wait` follows the build: the client says, on
    one line, that StackGate cannot be reached, and exits 1; it does not sit out its whole
    --wait-timeout and then report a timeout (exit 124, "it goes on on the server")."""
    serve, url = await launcher.serving("serve", STACKGATE_SIM_DURATIONS=SLOW_BUILDS)
    user = User(tmp_path / "home")
    await user.login(url)
    waiting = asyncio.create_task(
        user.run("server", "create", "web-1", *CREATE, "--wait", "--wait-timeout", "20", within=60)
    )

    async with api(url) as http:

        async def building() -> bool:
            assert not waiting.done(), waiting.result()
            items = (await http.get("/api/v1/vms")).json()["items"]
            return any(s["name"] == "web-1" and s["status"] == "BUILD" for s in items)

        await eventually(building, within=15)
    await asyncio.sleep(0.5)  # the client is following the operation's stream by now
    serve.kill()

    result = await waiting
    assert result.stdout == ""
    no_traceback(result.stderr)
    assert result.code == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert url in lines[0], lines

"""The README's quick start and its fake-cloud section, run as written.

The commands come from README.md itself (the fenced `sh` blocks of those two sections), so the
README cannot drift from the product. They run in one real bash session, as in a terminal, in a
fresh directory standing for a clone (its `.venv` is this run's), with HOME there too: nothing of
the repository's ./data or the user's ~/.config is touched. Only what a person substitutes is
substituted: free ports for 8000 and 5000 (`STACKGATE_PORT=<port>` before a server command; the
latest server started stands for its README port, as the one a person is looking at), the
values a person reads off the screen for `<demo password>`, `<operation id>` and `<id>`, `make
run` by the command its Makefile recipe runs, and typing the password where `login` asks for it.
Servers and streams a person leaves running in another terminal run in the background, and a
watch ended with Ctrl-C gets SIGINT. A command not run says why in NOT_RUN; any other command of
those sections runs, so a new one is tested the day it is written.

The harness sets only what is no part of the commands: a faster simulator clock and cheap
password hashing.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
QUICK_START = "Quick start"
FAKE_CLOUD = "A local OpenStack-compatible cloud for your own tests"
# Commands of those sections that do not run here, each with the reason.
NOT_RUN = {
    "make test": "the whole test suite, this test among it",
}
PLACEHOLDER = re.compile(r"<([a-z][a-z ]*)>")


def section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def commands(title: str) -> list[str]:
    """Each command of the section's ```sh blocks: continuation lines joined, comment-only lines
    (a command's printed output, described) dropped."""
    found: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", section(title), flags=re.S):
        pending = ""
        for line in block.splitlines():
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            pending += line + "\n"
            if not line.rstrip().endswith("\\"):
                found.append(pending.rstrip("\n"))
                pending = ""
        assert not pending, f"a command of {title!r} ends with a backslash: {pending}"
    assert found, f"no sh block in README section {title!r}"
    return found


def make_recipe(target: str) -> str:
    """The command a Makefile target runs (its last recipe line), with $(VENV) resolved."""
    recipe = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert recipe, f"no `{target}` target in the Makefile"
    return recipe.group(1).strip().splitlines()[-1].strip().replace("$(VENV)", ".venv")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def without_comment(command: str) -> str:
    """The command without a trailing `# ...` remark (none of these commands quotes a #)."""
    return "\n".join(line.split("  #")[0].rstrip() for line in command.splitlines())


@dataclass
class Job:
    command: str
    pid: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Shell:
    """One bash session: commands run one at a time, what each prints kept in a file."""

    cwd: Path
    env: dict[str, str]
    jobs: list[Job] = field(default_factory=list)
    count: int = 0

    def __post_init__(self) -> None:
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # No controlling terminal: a password prompt reads the standard input.
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        # Job control, as in a terminal: each background job is its own process group, and
        # Ctrl-C (SIGINT) reaches it.
        self._send("set -m")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def _send(self, script: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(script + "\n")
        self.proc.stdin.flush()

    def _files(self, typed: str) -> tuple[Path, Path]:
        self.count += 1
        out = self.cwd.parent / f"{self.count:02d}.out"
        typed_file = self.cwd.parent / f"{self.count:02d}.in"
        typed_file.write_text(typed)
        return out, typed_file

    def _marker(self, name: str, within: float) -> str:
        deadline = time.monotonic() + within
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"the shell gave no {name} within {within}s", pytrace=False)
            if line.startswith(f"__{name}="):
                return line.split("=", 1)[1].strip()

    def run(self, command: str, *, typed: str = "", within: float = 60) -> str:
        """Run in the foreground; fails unless it exits 0. Returns its standard output."""
        out, typed_file = self._files(typed)
        errors = out.with_suffix(".err")
        started = time.monotonic()
        self._send(f"{{\n{command}\n}} >{out} 2>{errors} <{typed_file}\necho __rc=$?")
        code = int(self._marker("rc", within))
        printed = out.read_text(errors="replace")
        said = errors.read_text(errors="replace")
        print(f"{time.monotonic() - started:5.1f}s  {command}")
        assert code == 0, f"`{command}` exited {code}:\n{printed}\n{said}"
        return printed

    def background(self, command: str) -> Job:
        """Run as in another terminal (or with its own `&`)."""
        out, _ = self._files("")
        line = without_comment(command)
        line = line if line.endswith("&") else line + " &"
        self._send(f"{{\n{line}\n}} >{out} 2>&1 </dev/null\necho __pid=$!")
        job = Job(command, int(self._marker("pid", 10)), out)
        self.jobs.append(job)
        return job

    def interrupt(self, job: Job, within: float = 10) -> int:
        """Ctrl-C: SIGINT to the job's process group; its exit code once it ended."""
        os.killpg(job.pid, signal.SIGINT)
        self._send(f"wait {job.pid}\necho __rc=$?")
        return int(self._marker("rc", within))

    def close(self) -> None:
        for job in self.jobs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(job.pid, signal.SIGKILL)
        self.proc.kill()
        self.proc.wait(10)


def wait_for(url: str, job: Job, within: float = 45) -> httpx.Response:
    """The first 200 from `url`, while the job runs (a person waits for the server to start)."""
    started = time.monotonic()
    deadline = started + within
    while True:
        try:
            answer = httpx.get(url, timeout=2)
            if answer.status_code == 200:
                print(f"{time.monotonic() - started:5.1f}s  {job.command}  (until {url} answered)")
                return answer
        except httpx.TransportError:
            pass
        try:
            os.killpg(job.pid, 0)
        except ProcessLookupError:
            pytest.fail(f"`{job.command}` ended:\n{job.output()}", pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer 200 in {within}s:\n{job.output()}", pytrace=False)
        time.sleep(0.2)


class Walk:
    """A person following the README: the values they read off the screen, their ports."""

    def __init__(self, shell: Shell) -> None:
        self.shell = shell
        self.values: dict[str, str] = {}
        self.ports: dict[str, int] = {}  # README port -> the one the server really uses
        self.servers: list[Job] = []
        self.watches: list[Job] = []

    def substitute(self, command: str) -> str:
        for default, port in self.ports.items():
            command = re.sub(rf":{default}\b", f":{port}", command)
        unknown = set(PLACEHOLDER.findall(command)) - set(self.values)
        assert not unknown, f"the README asks for {unknown}, which this test cannot fill in"
        return PLACEHOLDER.sub(lambda m: self.values[m.group(1)], command)

    def server(self, command: str, port: int) -> tuple[Job, str]:
        """A server command on `port`, in the background (another terminal)."""
        executable = re.search(r"\.venv/bin/stackgate (serve|fakecloud)", command)
        assert executable, command
        at = executable.start()
        command = f"{command[:at]}STACKGATE_PORT={port} {command[at:]}"
        job = self.shell.background(command)
        return job, f"http://127.0.0.1:{port}"


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[Shell]:
    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / ".venv").symlink_to(Path(sys.executable).parent.parent)
    (tmp_path / "home").mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STACKGATE_", "OS_", "PYTEST", "XDG_"))
    }
    env.update(
        HOME=str(tmp_path / "home"),
        STACKGATE_SIM_SPEED="0.05",  # a simulated build takes a blink, not five seconds
        STACKGATE_PASSWORD_HASH_FAST="true",
    )
    session = Shell(clone, env)
    try:
        yield session
    finally:
        session.close()


def follow(walk: Walk, command: str) -> None:
    """One command of the README, as a person runs it, and what the README says it shows."""
    shell = walk.shell
    if without_comment(command) == "make run":
        command = make_recipe("run")
    command = walk.substitute(command)
    server = re.search(r"\.venv/bin/stackgate (serve|fakecloud)\b", command)
    if server and server.group(1) == "fakecloud":
        # The cloud's port stands for 5000 from now on (OS_AUTH_URL).
        walk.ports["5000"] = free_port()
        cloud, url = walk.server(command, walk.ports["5000"])
        wait_for(url + "/v3", cloud)
        walk.servers.append(cloud)
        return
    if server:
        # A new StackGate is the one at ":8000" from now on (the other still runs).
        walk.ports["8000"] = free_port()
        serve, base = walk.server(command, walk.ports["8000"])
        ready = wait_for(base + "/health/ready", serve).json()
        assert {c["name"]: c["status"] for c in ready["checks"]}["provider"] == "up", ready
        walk.servers.append(serve)
        generated = re.search(r'"demo_password": "([^"]+)"', serve.output())
        assert generated, f"serve printed no demo password:\n{serve.output()}"
        walk.values["demo password"] = generated.group(1)
        # "docs at /docs", and http://127.0.0.1:8000/ leads there.
        assert "/docs/assets/swagger-ui-bundle.js" in httpx.get(base + "/docs").text
        root = httpx.get(base + "/", headers={"Accept": "text/html"})
        assert root.headers["location"] == "/docs"
        return
    if "Ctrl-C" in command:
        walk.watches.append(shell.background(command))
        time.sleep(1)  # it connects while the next command starts
        return
    typed = walk.values["demo password"] + "\n" if "asks for the password" in command else ""
    printed = shell.run(command, typed=typed)
    if "stackgate server create" in command and "--wait" in command:
        assert "ACTIVE" in printed, printed
    if "stackgate server list" in command:
        assert "web-01" in printed, printed
    if "curl -i -X POST" in command and "/api/v1/vms" in command:
        assert re.search(r"^HTTP/\S+ 202", printed, re.M), printed
        operation = re.search(
            r"^Operation-Location: /api/v1/operations/(\S+)", printed, re.M | re.I
        )
        assert operation, printed
        walk.values["operation id"] = operation.group(1)
        walk.values["id"] = json.loads(printed.strip().splitlines()[-1])["id"]
    if "/operations/" in command and "/events" in command:
        assert "event: operation" in printed, printed
        assert '"succeeded"' in printed, printed
    if re.search(r"curl .*/api/v1/vms/\S+\s*(#|$)", command):
        body = json.loads(printed)
        assert body["status"] == "ACTIVE", body
        assert body["ip_address"], body
    if "openstack server list -f json" in command:
        listed = {s["Name"]: s["Status"] for s in json.loads(printed)}
        assert listed.get("vm1") == "ACTIVE", listed


def test_the_readme_quick_start_and_fake_cloud_work_as_written(shell: Shell) -> None:
    walk = Walk(shell)
    quick = commands(QUICK_START)
    fake = commands(FAKE_CLOUD)
    skipped = [without_comment(c) for c in quick + fake if without_comment(c) in NOT_RUN]
    assert skipped == list(NOT_RUN), "NOT_RUN names a command the README no longer has"
    print(f"not run (each with its reason): {NOT_RUN}")

    for command in quick:
        if without_comment(command) not in NOT_RUN:
            follow(walk, command)
    assert len(walk.servers) == 1 and len(walk.watches) == 1, "the quick start changed shape"
    (watch,) = walk.watches
    assert shell.interrupt(watch) == 130  # Ctrl-C: "interrupted"
    seen = watch.output()
    assert "compute.instance" in seen and "web-01" in seen, seen

    # The fake cloud, then StackGate on top of it.
    for command in fake:
        if without_comment(command) not in NOT_RUN:
            follow(walk, command)
    assert len(walk.servers) == 3, "the fake cloud and StackGate on it did not both start"
    for job in walk.servers:
        os.killpg(job.pid, 0)  # every server still runs: none died on the way

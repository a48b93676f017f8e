"""--wait on the operations contract (Operation-Location, the operation's SSE stream, polling
when the stream is unavailable), its exit codes, and the error messages of the HTTP layer."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from stackgate.cli.client import http
from stackgate.cli.client.wait import Progress
from stackgate.cli.main import app as cli
from tests.cli.fake import Fake, op, serving, sse

ENV = {
    "STACKGATE_URL": "http://testserver",
    "STACKGATE_TOKEN": "secret-token-123",
    "STACKGATE_PROJECT": "",
    "STACKGATE_PROFILE": "",
}
CREATE = ["server", "create", "web-1", "--flavor", "m1.tiny", "--image", "cirros-0.6"]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fake]:
    monkeypatch.setenv("STACKGATE_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setattr(http, "sleep", lambda seconds: None)
    state = Fake()
    with serving(state):
        yield state


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=ENV)


def test_wait_follows_the_operation_stream_and_prints_the_final_resource(fake: Fake) -> None:
    fake.stream = [
        sse("operation", op("running", "networking")),
        sse(
            "compute.instance.update",
            {
                "resource": {
                    "type": "server",
                    "id": "srv-1",
                    "status": "BUILD",
                    "task_state": "spawning",
                }
            },
        ),
        sse("operation", op("succeeded", "spawning")),
    ]
    result = CliRunner().invoke(cli, [*CREATE, "--wait", "-f", "json"], env=ENV)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "ACTIVE"
    assert result.stderr == ""  # not a terminal: no progress
    assert fake.seen_polls == 0


def test_a_failed_operation_exits_1_with_its_fault_and_the_created_id(fake: Fake) -> None:
    fake.stream = [sse("operation", op("failed", "spawning", fault="No valid host was found"))]
    result = CliRunner().invoke(cli, [*CREATE, "--wait", "-f", "json"], env=ENV)
    assert result.exit_code == 1
    assert "No valid host was found" in result.stderr and "srv-1" in result.stderr
    assert result.stdout == ""


def test_without_a_stream_it_polls_the_operation(fake: Fake) -> None:
    fake.stream = None
    fake.polls = [op("pending"), op("running", "networking"), op("succeeded")]
    result = CliRunner().invoke(cli, [*CREATE, "--wait", "-f", "value", "-c", "status"], env=ENV)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "ACTIVE\n"
    assert fake.seen_polls == 3


def test_a_stream_that_drops_falls_back_to_polling(fake: Fake) -> None:
    fake.stream = [sse("operation", op("running", "networking"))]  # ends before the end
    fake.polls = [op("succeeded")]
    result = CliRunner().invoke(cli, [*CREATE, "--wait", "-f", "json"], env=ENV)
    assert result.exit_code == 0, result.stderr
    assert fake.seen_polls == 1


def test_a_wait_that_runs_out_exits_124_and_says_how_to_resume(fake: Fake) -> None:
    fake.stream = None
    fake.polls = [op("running", "spawning")]
    result = CliRunner().invoke(cli, [*CREATE, "--wait", "--wait-timeout", "0.2"], env=ENV)
    assert result.exit_code == 124
    assert "stackgate operation wait op-1" in result.stderr
    assert "srv-1" in result.stderr and "goes on" in result.stderr


def test_operation_wait(fake: Fake) -> None:
    fake.stream = [sse("operation", op("succeeded", "spawning"))]
    result = run("operation", "wait", "op-1", "-f", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["status"] == "succeeded"
    fake.stream = [sse("operation", op("failed", fault="boom"))]
    failed = run("operation", "wait", "op-1")
    assert failed.exit_code == 1 and "boom" in failed.stderr


def test_progress_is_one_line_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    progress = Progress("Creating server web-1", stream)
    for step in ("networking", "networking", "spawning"):
        progress.step(step)
    progress.finish("ACTIVE")
    assert stream.getvalue().rsplit("\r\x1b[2K", 1)[-1] == (
        "Creating server web-1: networking -> spawning ... ACTIVE\n"
    )
    quiet = io.StringIO()
    Progress("x", quiet).step("networking")
    assert quiet.getvalue() == ""


def test_event_watch_prints_lines_and_resumes_with_last_event_id(fake: Fake) -> None:
    def event(seq: int, status: str) -> str:
        data = {
            "seq": seq,
            "event_type": "compute.instance.update",
            "occurred_at": "T",
            "resource": {
                "type": "server",
                "id": "srv-1",
                "name": "web-1",
                "status": status,
                "task_state": None,
            },
            "payload": {},
        }
        return sse("compute.instance.update", data, str(seq))

    fake.event_streams = [
        [event(1, "BUILD"), event(2, "ACTIVE")],
        [sse("resync", {"seq": 9}), event(3, "SHUTOFF")],
    ]
    result = run("event", "watch", "--count", "3", "-f", "json")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert fake.last_event_ids == [None, "2"]
    assert "resync" in result.stderr
    fake.event_streams = [[event(4, "ACTIVE")]]
    table = run("event", "watch", "--count", "1")
    assert "compute.instance.update" in table.stdout and "web-1" in table.stdout


def test_a_429_is_retried_once_after_retry_after(fake: Fake) -> None:
    fake.list_answers = [429]
    result = run("server", "list", "-f", "json")
    assert result.exit_code == 0
    assert "rate limited" in result.stderr
    fake.list_answers = [429, 429]
    refused = run("server", "list", "-f", "json")
    assert refused.exit_code == 1
    assert "Too many requests" in refused.stderr and refused.stdout == ""


def test_a_503_from_the_breaker_says_so_with_the_request_id(fake: Fake) -> None:
    fake.create_status = 503
    result = CliRunner().invoke(cli, CREATE, env=ENV)
    assert result.exit_code == 1
    assert "Cloud unavailable (HTTP 503): the cloud's circuit breaker is open" in result.stderr
    assert "try again in 30 s" in result.stderr and "Request ID: req-fake-503" in result.stderr
    assert "Traceback" not in result.stderr and "secret-token-123" not in result.stderr


def test_connection_refused_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        env = {
            **ENV,
            "STACKGATE_URL": f"http://127.0.0.1:{port}",
            "STACKGATE_CONFIG": str(tmp_path / "c.toml"),
        }
        result = CliRunner().invoke(cli, ["server", "list"], env=env)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: cannot reach StackGate at http://127.0.0.1:{port}: connection refused or "
        "unreachable"
    )

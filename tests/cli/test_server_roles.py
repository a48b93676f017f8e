"""The server roles' command line: where they listen (--host/--port > STACKGATE_HOST/PORT >
the default), the one clear line when they cannot, and their help."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from stackgate.cli.main import app as cli
from stackgate.config import get_settings
from tests.e2e.conftest import free_port, stackgate_env

# Each role, with what it needs to get as far as listening (billing refuses to start without
# a broker before anything else).
ROLES = {
    "serve": ["serve"],
    "api": ["api"],
    "gateway": ["gateway"],
    "billing": ["billing"],
    "fakecloud": ["fakecloud"],
    "fakecloud serve": ["fakecloud", "serve"],
}


@pytest.fixture(autouse=True)
def fresh_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings read from this test's environment (get_settings is cached), in a folder
    without a .env or ./data: a role that got past its port check would show it by creating
    ./data here."""
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def run(*args: str, **env: str) -> Result:
    values = stackgate_env(
        STACKGATE_HOST="127.0.0.1",
        STACKGATE_BROKER_URL="amqp://guest:guest@127.0.0.1:1/",
        COLUMNS="200",
        **env,
    )
    # CliRunner applies `env` over os.environ: blank the STACKGATE_* it would leave.
    blanked = {key: None for key in os.environ if key.startswith("STACKGATE_")}
    return CliRunner().invoke(cli, list(args), env={**blanked, **values})


def refused(result: Result) -> str:
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize("role", ROLES)
def test_a_taken_port_from_the_environment_is_one_line_naming_it(
    role: str, taken_port: int, tmp_path: Path
) -> None:
    line = refused(run(*ROLES[role], STACKGATE_PORT=str(taken_port)))
    assert line.startswith(f"stackgate {role.split()[0]}: port {taken_port} on 127.0.0.1 ")
    assert "already in use" in line
    assert "--port" in line and "STACKGATE_PORT" in line
    assert not (tmp_path / "data").exists()  # nothing ran: no migration, no database


@pytest.mark.parametrize("role", ["serve", "api", "gateway", "billing", "fakecloud serve"])
def test_port_flag_beats_stackgate_port(role: str, taken_port: int) -> None:
    """STACKGATE_PORT names a free port, --port the taken one: the flag is the one used."""
    line = refused(run(*ROLES[role], "--port", str(taken_port), STACKGATE_PORT=str(free_port())))
    assert f"port {taken_port} " in line


def test_host_flag_beats_stackgate_host(taken_port: int) -> None:
    """An address this machine does not have (TEST-NET-3) as --host: the flag is the one used,
    and the line says which settings to check."""
    line = refused(run("serve", "--host", "203.0.113.7", "--port", str(taken_port)))
    assert "cannot listen on 203.0.113.7:" in line
    assert "--host / STACKGATE_HOST" in line


def test_fakecloud_takes_the_port_before_its_subcommand(taken_port: int) -> None:
    line = refused(run("fakecloud", "--port", str(taken_port), "serve"))
    assert f"port {taken_port} " in line


@pytest.mark.parametrize(
    ("role", "default"),
    [("serve", 8000), ("api", 8080), ("gateway", 8000), ("billing", 8090), ("fakecloud", 5000)],
)
def test_help_lists_host_and_port(role: str, default: int) -> None:
    result = run(role, "--help")
    assert result.exit_code == 0, result.output
    assert "--host" in result.output and "STACKGATE_HOST" in result.output
    assert "--port" in result.output and f"default {default}" in result.output


@pytest.mark.parametrize("role", ["serve", "billing"])
def test_no_migrate_is_one_flag(role: str) -> None:
    result = run(role, "--help")
    assert "--no-migrate" in result.output
    assert "--no-no-migrate" not in result.output
    assert "no-no-migrate" not in result.output

"""The `stackgate` client commands in-process: typer's CliRunner, with the CLI's client
factory handing out Starlette's TestClient on one app per run (per xdist worker) on a SQLite
file, with its worker and billing running in the TestClient's event loop.

Tests share that app: they make what they need under unique names and never count on a
clean slate."""

from __future__ import annotations

import contextlib
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

with warnings.catch_warnings():
    # Starlette would rather have httpx2 behind its TestClient; it is still an httpx.Client.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from stackgate.app import create_app
from stackgate.cli.client import http
from stackgate.cli.main import app as cli
from stackgate.migrate import upgrade
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, make_settings

URL = "http://testserver"


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """StackGate as `stackgate serve` runs it (API, worker, billing), on a SQLite file."""
    folder = tmp_path_factory.mktemp("cli-app")
    url = f"sqlite+aiosqlite:///{folder / 'stackgate.db'}"
    upgrade(url)
    settings = make_settings(
        url,
        billing_database_url=f"sqlite+aiosqlite:///{folder / 'billing.db'}",
        sim_database_url=f"sqlite+aiosqlite:///{folder / 'sim.db'}",
    )
    app = create_app(settings, run_worker=True, billing=True)
    with TestClient(app, base_url=URL, raise_server_exceptions=False) as client:
        token = client.post(
            "/api/v1/auth/tokens",
            json={"username": "admin", "password": ADMIN_PASSWORD, "project": "admin"},
        ).json()["access_token"]
        demo = client.get(
            "/api/v1/projects", headers={"Authorization": f"Bearer {token}"}, params={"limit": 100}
        ).json()["items"]
        for project in demo:
            client.put(
                f"/api/v1/projects/{project['id']}/quotas",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "quotas": {
                        "instances": -1,
                        "cores": -1,
                        "ram": -1,
                        "volumes": -1,
                        "gigabytes": -1,
                    }
                },
            )
        yield client


@dataclass
class Cli:
    """Runs `stackgate ...` in-process against the test app, as a logged-in user."""

    runner: CliRunner
    env: dict[str, str]

    def __call__(self, *args: str, input: str | None = None, **env: str) -> Result:
        return self.runner.invoke(cli, list(args), input=input, env={**self.env, **env})


def _token(api: TestClient, username: str, password: str, project: str) -> str:
    response = api.post(
        "/api/v1/auth/tokens",
        json={"username": username, "password": password, "project": project},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return tmp_path / "stackgate" / "config.toml"


@pytest.fixture
def use_app(api: TestClient) -> Iterator[TestClient]:
    """Every client the CLI opens is the test app."""
    http.set_client_factory(lambda url: contextlib.nullcontext(api))
    yield api
    http.set_client_factory(None)


def _env(config_file: Path, **values: str) -> dict[str, str]:
    base = {
        "STACKGATE_CONFIG": str(config_file),
        "STACKGATE_URL": "",
        "STACKGATE_TOKEN": "",
        "STACKGATE_PROJECT": "",
        "STACKGATE_PROFILE": "",
        "COLUMNS": "200",
    }
    return {**base, **values}


@pytest.fixture
def anonymous(use_app: TestClient, config_file: Path) -> Cli:
    """No profile, no token: what a fresh machine has."""
    return Cli(CliRunner(), _env(config_file))


@pytest.fixture
def demo(use_app: TestClient, config_file: Path) -> Cli:
    """The demo user (a member of the demo project), through the environment."""
    token = _token(use_app, "demo", DEMO_PASSWORD, "demo")
    return Cli(CliRunner(), _env(config_file, STACKGATE_URL=URL, STACKGATE_TOKEN=token))


@pytest.fixture
def admin(use_app: TestClient, config_file: Path) -> Cli:
    token = _token(use_app, "admin", ADMIN_PASSWORD, "admin")
    return Cli(CliRunner(), _env(config_file, STACKGATE_URL=URL, STACKGATE_TOKEN=token))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def ok(result: Result) -> Result:
    """The result, after checking it succeeded (showing its stderr when not)."""
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.stderr}\n{result.stdout}"
    return result


def json_of(result: Result) -> Any:
    import json

    return json.loads(ok(result).stdout)

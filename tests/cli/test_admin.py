"""`stackgate admin reset-password`: the way back in, on the configured database directly."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from stackgate.app import create_app
from stackgate.cli.main import app as cli
from stackgate.config import get_settings
from stackgate.migrate import upgrade
from tests.conftest import ADMIN_PASSWORD, make_settings

OLD = "the-old-password"


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('admin') / 'stackgate.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="module")
def api(database: str) -> Iterator[TestClient]:
    """The API on that database, checking every token afresh (no cache: the reset is made by
    another process, as in production once STACKGATE_AUTH_CACHE_SECONDS has passed)."""
    settings = make_settings(database, auth_cache_seconds=0)
    with TestClient(create_app(settings, run_worker=False)) as client:
        yield client


@pytest.fixture(autouse=True)
def fresh_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def login(api: TestClient, name: str, password: str) -> int:
    return api.post(
        "/api/v1/auth/tokens", json={"username": name, "password": password, "project": "demo"}
    ).status_code


def token(api: TestClient, name: str, password: str, project: str = "demo") -> str:
    response = api.post(
        "/api/v1/auth/tokens", json={"username": name, "password": password, "project": project}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def user(api: TestClient) -> str:
    """A member of the demo project, with the password OLD."""
    admin = {"Authorization": f"Bearer {token(api, 'admin', ADMIN_PASSWORD, 'admin')}"}
    name = f"ops-{uuid.uuid4().hex[:8]}"
    created = api.post("/api/v1/users", headers=admin, json={"name": name, "password": OLD})
    assert created.status_code == 201, created.text
    demo = api.get("/api/v1/projects", headers=admin, params={"limit": 100}).json()["items"]
    project = next(p["id"] for p in demo if p["name"] == "demo")
    granted = api.post(
        f"/api/v1/projects/{project}/members",
        headers=admin,
        json={"user_id": created.json()["id"], "role": "member"},
    )
    assert granted.status_code == 201, granted.text
    return name


def reset(database: str, *args: str, input: str | None = None) -> Result:
    blanked: dict[str, str | None] = {k: None for k in os.environ if k.startswith("STACKGATE_")}
    env = {**blanked, "STACKGATE_DATABASE_URL": database, "STACKGATE_PASSWORD_HASH_FAST": "true"}
    return CliRunner().invoke(cli, ["admin", "reset-password", *args], input=input, env=env)


def me(api: TestClient, bearer: str) -> int:
    return api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {bearer}"}).status_code


def test_a_generated_password_is_printed_once_and_voids_the_old_one_and_its_tokens(
    api: TestClient, database: str, user: str
) -> None:
    held = token(api, user, OLD)
    assert me(api, held) == 200
    result = reset(database, user)
    assert result.exit_code == 0, result.output
    new = result.stdout.strip()
    assert len(new) >= 12 and "\n" not in new
    assert "tokens they held are void" in result.stderr
    assert login(api, user, new) == 201
    assert login(api, user, OLD) == 401
    assert me(api, held) == 401


def test_a_password_from_stdin_is_taken_and_not_printed(
    api: TestClient, database: str, user: str
) -> None:
    result = reset(database, user, "--password-stdin", input="chosen-by-me-42\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert login(api, user, "chosen-by-me-42") == 201
    assert login(api, user, OLD) == 401


def test_a_short_password_on_stdin_changes_nothing(
    api: TestClient, database: str, user: str
) -> None:
    result = reset(database, user, "--password-stdin", input="short\n")
    assert result.exit_code == 2
    assert "at least 8" in result.stderr
    assert login(api, user, OLD) == 201


def test_an_unknown_user_is_one_line_and_exit_1(database: str) -> None:
    result = reset(database, "nobody-here")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"stackgate admin reset-password: no user named 'nobody-here' in the database at "
        f"{database} (STACKGATE_DATABASE_URL)"
    )


def test_a_database_never_migrated_says_so(tmp_path: Path) -> None:
    result = reset(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", "admin")
    assert result.exit_code == 1
    assert "has `stackgate migrate` run?" in result.stderr

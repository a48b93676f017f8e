"""login, logout, whoami, profiles and the precedence of flags, environment and profile."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest
from typer.testing import Result

from stackgate.cli.client.config import ConfigFile, GlobalOptions, Profile, resolve_target
from tests.cli.conftest import URL, Cli, json_of, ok, unique
from tests.conftest import DEMO_PASSWORD


def login(cli: Cli, *extra: str, password: str = DEMO_PASSWORD) -> Result:
    return cli(
        "login",
        "--url",
        URL,
        "--username",
        "demo",
        "--project",
        "demo",
        "--password-stdin",
        *extra,
        input=password + "\n",
    )


def test_login_writes_a_0600_profile_that_later_commands_use(
    anonymous: Cli, config_file: Path
) -> None:
    shown = json_of(login(anonymous, "-f", "json"))
    assert shown["user"] == "demo" and shown["project"] == "demo" and shown["profile"] == "default"
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    saved = tomllib.loads(config_file.read_text())
    assert saved["current"] == "default"
    assert saved["profiles"]["default"]["url"] == URL
    assert saved["profiles"]["default"]["token"]
    assert DEMO_PASSWORD not in config_file.read_text()
    me = json_of(anonymous("whoami", "-f", "json"))
    assert me["user"] == "demo" and me["project"] == "demo" and me["url"] == URL
    listed = json_of(anonymous("profile", "list", "-f", "json"))
    assert listed == [
        {
            "Name": "default",
            "URL": URL,
            "Project": "demo",
            "User": "demo",
            "Current": "*",
            "Logged In": True,
        }
    ]
    ok(anonymous("logout"))
    assert "token" not in tomllib.loads(config_file.read_text())["profiles"]["default"]
    after = anonymous("whoami")
    assert after.exit_code == 1 and "stackgate login" in after.stderr


def test_a_wrong_password_fails_clearly(anonymous: Cli, config_file: Path) -> None:
    result = login(anonymous, password="not-the-password")
    assert result.exit_code == 1
    assert "401" in result.stderr and "not-the-password" not in result.stderr
    assert not config_file.exists()


def test_an_invalid_token_says_to_log_in_again_and_never_prints_it(demo: Cli) -> None:
    result = demo("server", "list", STACKGATE_TOKEN="forged-token-value")
    assert result.exit_code == 1
    assert "run `stackgate login` again" in result.stderr
    assert "forged-token-value" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_profiles_are_chosen_by_flag_env_or_current(anonymous: Cli, config_file: Path) -> None:
    ok(login(anonymous))
    ok(
        anonymous(
            "--profile",
            "second",
            "login",
            "--url",
            URL,
            "--username",
            "demo",
            "--password-stdin",
            input=DEMO_PASSWORD + "\n",
        )
    )
    config = ConfigFile.load(config_file)
    assert set(config.profiles) == {"default", "second"} and config.current == "second"
    ok(anonymous("profile", "use", "default"))
    assert ConfigFile.load(config_file).current == "default"
    assert anonymous("profile", "use", "nope").exit_code == 1
    shown = json_of(anonymous("whoami", "-f", "json", STACKGATE_PROFILE="second"))
    assert shown["profile"] == "second"
    shown = json_of(
        anonymous("--profile", "default", "whoami", "-f", "json", STACKGATE_PROFILE="second")
    )
    assert shown["profile"] == "default"


def test_flags_beat_environment_beat_profile(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = ConfigFile(
        config_file, "p", {"p": Profile("p", url="http://profile", token="pt", project="pp")}
    )
    for name in ("STACKGATE_URL", "STACKGATE_TOKEN", "STACKGATE_PROJECT", "STACKGATE_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    target = resolve_target(GlobalOptions(), config)
    assert (target.url, target.token, target.project) == ("http://profile", "pt", "pp")
    monkeypatch.setenv("STACKGATE_URL", "http://env")
    monkeypatch.setenv("STACKGATE_TOKEN", "et")
    target = resolve_target(GlobalOptions(), config)
    assert (target.url, target.token, target.project) == ("http://env", "et", "pp")
    target = resolve_target(GlobalOptions(url="http://flag", project="fp"), config)
    assert (target.url, target.token, target.project) == ("http://flag", "et", "fp")


def test_the_environment_token_beats_a_stale_profile(
    anonymous: Cli, demo: Cli, config_file: Path
) -> None:
    ok(login(anonymous))
    config = ConfigFile.load(config_file)
    config.put(Profile("default", url=URL, token="stale-token", project="demo"))
    config.save()
    assert anonymous("whoami").exit_code == 1
    good = demo.env["STACKGATE_TOKEN"]
    assert json_of(anonymous("whoami", "-f", "json", STACKGATE_TOKEN=good))["user"] == "demo"
    flagged = anonymous("--token", "bad-token", "whoami", STACKGATE_TOKEN=good)
    assert flagged.exit_code == 1 and "stackgate login" in flagged.stderr


def test_login_with_an_application_credential(demo: Cli, anonymous: Cli) -> None:
    name = unique("ci")
    credential = json_of(demo("application", "credential", "create", name, "-f", "json"))
    shown = json_of(
        anonymous(
            "login",
            "--url",
            URL,
            "--application-credential-id",
            credential["id"],
            "--password-stdin",
            "-f",
            "json",
            input=credential["secret"] + "\n",
        )
    )
    assert shown["user"] == "demo"
    assert json_of(anonymous("whoami", "-f", "json"))["project"] == "demo"
    ok(demo("application-credential", "delete", credential["id"]))


def test_debug_traces_each_request_on_stderr_without_the_token(demo: Cli) -> None:
    result = ok(demo("--debug", "flavor", "list", "-f", "json"))
    assert json_of(result)  # stdout is still only the result
    trace = [line for line in result.stderr.splitlines() if line.startswith("GET ")]
    assert trace and "/api/v1/flavors" in trace[0] and "-> 200" in trace[0]
    assert "request id req-" in trace[0]
    assert "Bearer" not in result.stderr and "eyJ" not in result.stderr
    quiet = ok(demo("flavor", "list", "-f", "json"))
    assert "GET " not in quiet.stderr

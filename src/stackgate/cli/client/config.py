"""Profiles in the user's config file, and which URL, token and project a command uses.

Precedence: flags > STACKGATE_URL / STACKGATE_TOKEN / STACKGATE_PROJECT > the profile
(chosen by --profile, then STACKGATE_PROFILE, then the file's `current`, then "default")."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from stackgate.cli.client.errors import CliError

DEFAULT_PROFILE = "default"


def config_path() -> Path:
    """`config.toml` in the user's config dir; STACKGATE_CONFIG names another file."""
    override = os.environ.get("STACKGATE_CONFIG")
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("stackgate")) / "config.toml"


@dataclass(frozen=True)
class Profile:
    name: str
    url: str | None = None
    token: str | None = None
    project: str | None = None
    username: str | None = None
    expires_at: str | None = None

    def as_toml(self) -> dict[str, str]:
        values = {
            "url": self.url,
            "token": self.token,
            "project": self.project,
            "username": self.username,
            "expires_at": self.expires_at,
        }
        return {key: value for key, value in values.items() if value is not None}


@dataclass
class ConfigFile:
    """The whole file: `current = "name"` and `[profiles.<name>]` tables."""

    path: Path
    current: str | None = None
    profiles: dict[str, Profile] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> ConfigFile:
        path = path or config_path()
        if not path.exists():
            return cls(path)
        try:
            raw: dict[str, Any] = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise CliError(f"cannot read {path}: {exc}") from exc
        profiles = {
            str(name): Profile(
                name=str(name),
                **{k: str(v) for k, v in values.items() if k in Profile.__dataclass_fields__},
            )
            for name, values in raw.get("profiles", {}).items()
            if isinstance(values, dict)
        }
        current = raw.get("current")
        return cls(path, current if isinstance(current, str) else None, profiles)

    def save(self) -> None:
        """Written with mode 0600 (it holds bearer tokens), in a directory only the user reads."""
        import tomli_w

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        body: dict[str, Any] = {}
        if self.current:
            body["current"] = self.current
        body["profiles"] = {name: p.as_toml() for name, p in sorted(self.profiles.items())}
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)  # an existing file keeps its mode otherwise
            tomli_w.dump(body, handle)

    def put(self, profile: Profile) -> None:
        self.profiles[profile.name] = profile


@dataclass(frozen=True)
class GlobalOptions:
    """What the root command's flags say (None: not given)."""

    profile: str | None = None
    url: str | None = None
    token: str | None = None
    project: str | None = None
    debug: bool = False


@dataclass(frozen=True)
class Target:
    """Where and as whom a command talks: the outcome of the precedence rules."""

    profile: str
    url: str | None
    token: str | None
    project: str | None
    debug: bool = False


def profile_name(options: GlobalOptions, config: ConfigFile) -> str:
    return (
        options.profile or os.environ.get("STACKGATE_PROFILE") or config.current or DEFAULT_PROFILE
    )


def resolve_target(options: GlobalOptions, config: ConfigFile | None = None) -> Target:
    """Flags > environment > profile, value by value."""
    config = config or ConfigFile.load()
    name = profile_name(options, config)
    stored = config.profiles.get(name, Profile(name))
    env = os.environ.get

    def pick(flag: str | None, variable: str, saved: str | None) -> str | None:
        return flag or env(variable) or saved

    return Target(
        profile=name,
        url=pick(options.url, "STACKGATE_URL", stored.url),
        token=pick(options.token, "STACKGATE_TOKEN", stored.token),
        project=pick(options.project, "STACKGATE_PROJECT", stored.project),
        debug=options.debug,
    )


def forget_token(profile: Profile) -> Profile:
    return replace(profile, token=None, expires_at=None)

"""Settings: the documented variables match the model, and URLs get their async drivers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stackgate.config import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    documented = set(re.findall(r"^# (STACKGATE_[A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.M))
    expected = {f"STACKGATE_{name.upper()}" for name in Settings.model_fields}
    assert documented == expected


def test_every_setting_is_described() -> None:
    assert all(field.description for field in Settings.model_fields.values())


@pytest.mark.parametrize(
    "url,expected",
    [
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("mysql://root@h/db", "mysql+aiomysql://root@h/db"),
        ("mariadb://root@h/db", "mysql+aiomysql://root@h/db"),
        ("sqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_plain_urls_get_async_drivers(url: str, expected: str) -> None:
    assert Settings(_env_file=None, database_url=url).database_url == expected  # type: ignore[call-arg]


def test_ports_default_per_command() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.listen_port(8000) == (settings.port or 8000)
    assert Settings(_env_file=None, port=9000).listen_port(8080) == 9000  # type: ignore[call-arg]

"""Taking the broker away from one vhost only, so the shared broker's other users (other test
runs, other engineers) are untouched: revoke guest's permissions on it (no connection gets in)
and close the vhost's open connections; restoring the permissions brings it back."""

from __future__ import annotations

import subprocess
from urllib.parse import unquote, urlsplit

import pytest


def _ctl(*args: str) -> str:
    try:
        done = subprocess.run(
            ["rabbitmqctl", *args], capture_output=True, text=True, timeout=60, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.fail(f"rabbitmqctl {' '.join(args)}: {exc}", pytrace=False)
    return done.stdout


def vhost_of(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def close_connections(url: str) -> int:
    vhost = vhost_of(url)
    listing = _ctl("list_connections", "-q", "--no-table-headers", "pid", "vhost")
    closed = 0
    for line in listing.splitlines():
        pid, _, name = line.partition("\t")
        if name.strip() == vhost:
            subprocess.run(
                ["rabbitmqctl", "close_connection", pid.strip(), "test: broker away"],
                capture_output=True,
                timeout=60,
                check=False,
            )
            closed += 1
    return closed


def take_away(url: str) -> None:
    _ctl("clear_permissions", "-p", vhost_of(url), "guest")
    close_connections(url)


def bring_back(url: str) -> None:
    _ctl("set_permissions", "-p", vhost_of(url), "guest", ".*", ".*", ".*")

"""What `make run` prints: `stackgate serve` on a fresh database (it migrates first), every line
one JSON object (ours, Alembic's and uvicorn's alike), and one access line per request."""

from __future__ import annotations

import json
import signal
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Launcher

pytestmark = pytest.mark.e2e


def json_lines(text: str) -> list[dict[str, Any]]:
    parsed = []
    for line in text.splitlines():
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"a line that is not JSON: {line!r}\n{text}")
    return parsed


async def test_serve_writes_json_lines_and_logs_a_request_once(launcher: Launcher) -> None:
    process, base_url = await launcher.serving("serve")
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        answer = await http.get("/api/v1/flavors", headers={"X-Request-ID": "req-logged-once"})
    assert answer.status_code == 401
    process.signal(signal.SIGINT)  # Ctrl-C
    assert await process.wait(20) in (0, -signal.SIGINT), process.tail()

    served = json_lines(process.log.read_text())
    events = [line["event"] for line in served]
    assert any(event.startswith("Running upgrade  -> ") for event in events)  # Alembic's
    assert "serving" in events
    assert any(event.startswith("Uvicorn running on") for event in events)
    assert "Application shutdown complete." in events
    [access] = [line for line in served if line.get("request_id") == "req-logged-once"]
    assert access["method"] == "GET" and access["path"] == "/api/v1/flavors"
    assert access["status"] == 401 and access["duration_ms"] >= 0

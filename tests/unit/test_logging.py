"""One log format per process, and one access line per request."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog
from starlette.types import Receive, Scope, Send

from stackgate.core.logging import configure_logging
from stackgate.core.middleware import RequestIdMiddleware as ApiRequestId
from stackgate.gateway.middleware import RequestIdMiddleware as GatewayRequestId


@pytest.fixture(autouse=True)
def logging_as_in_tests() -> Iterator[None]:
    yield
    configure_logging("WARNING", json=True)  # as tests/conftest.py left it


def lines(text: str) -> list[dict[str, Any]]:
    """Every line parsed as JSON (fails on any line that is not)."""
    return [json.loads(line) for line in text.splitlines() if line]


def test_library_lines_are_rendered_as_ours(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json=True)
    structlog.get_logger("stackgate.test").info("ours", n=1)
    logging.getLogger("alembic.runtime.migration").info("Running upgrade  -> abc, initial")
    logging.getLogger("uvicorn.error").info("Uvicorn running on %s", "http://127.0.0.1:1")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("aiormq").exception("connection lost")
    logging.getLogger("uvicorn.access").info("GET / 200")  # said by our access line instead
    logging.getLogger("alembic.runtime.plugins").info("setup plugin x")  # noise
    out = capsys.readouterr()
    assert out.out == ""
    parsed = lines(out.err)
    assert [p["event"] for p in parsed] == [
        "ours",
        "Running upgrade  -> abc, initial",
        "Uvicorn running on http://127.0.0.1:1",
        "connection lost",
    ]
    assert parsed[1]["logger"] == "alembic.runtime.migration"
    assert {"level", "timestamp"} <= parsed[2].keys()
    assert "ValueError: boom" in parsed[3]["exception"]


def test_configuring_again_does_not_double_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json=True)
    configure_logging("INFO", json=True)
    logging.getLogger("alembic").info("once")
    assert len(lines(capsys.readouterr().err)) == 1


def test_console_lines_carry_no_colour_codes_off_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Under honcho (`make up`, STACKGATE_LOG_JSON=false) stderr is a pipe."""
    configure_logging("INFO", json=False)
    structlog.get_logger().info("ours", n=1)
    logging.getLogger("uvicorn.error").info("theirs")
    err = capsys.readouterr().err
    assert "ours" in err and "theirs" in err
    assert "\x1b[" not in err


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def get(asgi: Any, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        return await http.get(path, headers={"X-Request-ID": "req-once"})


@pytest.fixture
def fresh_access_loggers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loggers are cached on first use (as in production): one an earlier test used under the
    tests' WARNING level would drop these INFO lines, so the middlewares get fresh ones."""
    monkeypatch.setattr("stackgate.core.middleware.log", structlog.get_logger("stackgate.access"))
    monkeypatch.setattr(
        "stackgate.gateway.middleware.log", structlog.get_logger("stackgate.gateway.access")
    )


def access_lines(err: str) -> list[dict[str, Any]]:
    return [p for p in lines(err) if p.get("request_id") == "req-once" and "status" in p]


@pytest.mark.usefixtures("fresh_access_loggers")
async def test_serve_logs_a_request_once(capsys: pytest.CaptureFixture[str]) -> None:
    """`stackgate serve`: the API mounted under the gateway, in one process."""
    configure_logging("INFO", json=True)
    response = await get(GatewayRequestId(ApiRequestId(app)), "/api/v1/flavors")
    assert response.headers["x-request-id"] == "req-once"
    [line] = access_lines(capsys.readouterr().err)
    assert line["event"] == "gateway_request"
    assert line["method"] == "GET" and line["path"] == "/api/v1/flavors"
    assert line["status"] == 204 and line["duration_ms"] >= 0


@pytest.mark.usefixtures("fresh_access_loggers")
async def test_the_api_alone_logs_its_requests(capsys: pytest.CaptureFixture[str]) -> None:
    """`stackgate api` (behind a gateway in another process): its own line."""
    configure_logging("INFO", json=True)
    await get(ApiRequestId(app), "/api/v1/flavors")
    await get(ApiRequestId(app), "/api/v1/flavors")  # the claim ends with each request
    found = access_lines(capsys.readouterr().err)
    assert [line["event"] for line in found] == ["request", "request"]

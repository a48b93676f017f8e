"""Talking to StackGate: the client factory, the bearer token, and API errors turned into
one clear message and an exit code (never a traceback, never the token)."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx

from stackgate.cli.client.config import Target
from stackgate.cli.client.errors import EXIT_USAGE, CliError

ClientFactory = Callable[[str], AbstractContextManager[httpx.Client]]
# Waiting longer than this for a 429's Retry-After is not worth it in an interactive command.
MAX_RETRY_AFTER = 30.0
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def _default_factory(url: str) -> AbstractContextManager[httpx.Client]:
    from stackgate import __version__

    return httpx.Client(
        base_url=url, timeout=TIMEOUT, headers={"User-Agent": f"stackgate-cli/{__version__}"}
    )


_factory: ClientFactory = _default_factory


def set_client_factory(factory: ClientFactory | None) -> None:
    """Tests hand in their own client (Starlette's TestClient); None restores the default."""
    global _factory
    _factory = factory or _default_factory


@contextlib.contextmanager
def open_client(url: str) -> Iterator[httpx.Client]:
    with _factory(url) as client:
        yield client


def sleep(seconds: float) -> None:
    """time.sleep, replaceable by tests."""
    time.sleep(seconds)


class Api:
    """One logged-in (or anonymous) session against StackGate's /api/v1."""

    def __init__(self, client: httpx.Client, target: Target) -> None:
        self.client = client
        self.target = target

    @property
    def auth_headers(self) -> dict[str, str]:
        token = self.target.token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        authenticated: bool = True,
    ) -> httpx.Response:
        """The answer when it is 2xx; otherwise a CliError saying what went wrong. A 429 is
        retried once after its Retry-After, a 409 concurrent_update once at once."""
        all_headers = {**(self.auth_headers if authenticated else {}), **(headers or {})}
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(2):
            response = send(self.client, method, path, json=json, params=clean, headers=all_headers)
            if self.target.debug:
                trace(response)
            # A 409 concurrent_update: the row changed under the request (the worker moved it
            # on); nothing was applied, and the API asks for a retry.
            if (
                attempt == 0
                and response.status_code == 409
                and problem(response).get("code") == "concurrent_update"
            ):
                sleep(0.2)
                continue
            if response.status_code == 429 and attempt == 0:
                delay = retry_after(response)
                if delay is not None and delay <= MAX_RETRY_AFTER:
                    note(f"rate limited; retrying in {delay:g} s")
                    sleep(delay)
                    continue
            break
        if response.is_success:
            return response
        raise api_error(response, self.target)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params).json()

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json=body, **kwargs)

    def delete(self, path: str) -> httpx.Response:
        return self.request("DELETE", path)


def send(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request; a transport failure becomes a one-line CliError."""
    try:
        return client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise transport_error(exc, str(client.base_url)) from None


def transport_error(exc: httpx.HTTPError, url: str) -> CliError:
    where = url.rstrip("/") or "the server"
    if isinstance(exc, httpx.ConnectError):
        return CliError(f"cannot reach StackGate at {where}: connection refused or unreachable")
    if isinstance(exc, httpx.TimeoutException):
        return CliError(f"StackGate at {where} did not answer in time ({type(exc).__name__})")
    return CliError(f"talking to StackGate at {where} failed: {type(exc).__name__}: {exc}")


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def api_error(response: httpx.Response, target: Target) -> CliError:
    """The problem's title, detail and request id, with advice for the common cases."""
    body = problem(response)
    status = response.status_code
    title = str(body.get("title") or response.reason_phrase or "Error")
    detail = body.get("detail")
    lines = [f"{title} (HTTP {status})" + (f": {detail}" if detail else "")]
    for error in body.get("errors") or []:
        if isinstance(error, dict):
            where = ".".join(str(part) for part in error.get("loc", []) if part != "body")
            lines.append(f"  {where or 'request'}: {error.get('msg', error)}")
    if status == 401:
        lines.append(
            "Your token is missing, invalid or expired: run `stackgate login` again"
            + (f" (profile {target.profile})." if target.profile else ".")
        )
    elif status == 429:
        wait = retry_after(response)
        lines.append(
            "Too many requests: try again" + (f" in {wait:g} s." if wait is not None else " later.")
        )
    elif status == 503:
        wait = retry_after(response)
        lines.append(
            "The cloud is unavailable for now (nothing was changed); try again"
            + (f" in {wait:g} s." if wait is not None else " later.")
        )
    request_id = response.headers.get("X-Request-ID") or body.get("request_id")
    if request_id:
        lines.append(f"Request ID: {request_id}")
    return CliError("\n".join(lines))


def trace(response: httpx.Response) -> None:
    """--debug: each request and its answer on stderr (never the token: no headers)."""
    request = response.request
    note(
        f"{request.method} {request.url} -> {response.status_code} "
        f"({response.elapsed.total_seconds() * 1000:.0f} ms, "
        f"request id {response.headers.get('X-Request-ID', '-')})"
    )


def note(message: str) -> None:
    """A notice for the human: stderr, never stdout."""
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def session(target: Target) -> Iterator[Api]:
    """An Api on the target's URL; no URL configured is a usage error."""
    if not target.url:
        raise CliError(
            "no StackGate URL: run `stackgate login --url URL ...`, set STACKGATE_URL, or pass "
            "--url",
            EXIT_USAGE,
        )
    with open_client(target.url) as client:
        yield Api(client, target)

"""`--wait`: follow an operation's event stream (SSE), fall back to polling it with capped
backoff when the stream drops, or poll the resource itself when the server named no
operation. Progress goes to stderr, and only when stderr is a terminal."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from typing import Any, TextIO

import httpx

from stackgate.cli.client import http
from stackgate.cli.client.errors import EXIT_TIMEOUT, CliError
from stackgate.cli.client.http import Api

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
DEFAULT_TIMEOUT = 600.0
FIRST_DELAY = 0.25
MAX_DELAY = 5.0
# How long StackGate may refuse connections before a wait gives up on it (a restart is shorter).
UNREACHABLE_AFTER = 5.0
# Statuses a resource passes through on its way somewhere (Nova's, Cinder's, Neutron's).
_BUSY = frozenset(
    {"BUILD", "REBOOT", "HARD_REBOOT", "REBUILD", "RESIZE", "REVERT_RESIZE", "MIGRATING"}
)


@dataclass(frozen=True)
class WaitOptions:
    wait: bool = False
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class Pending:
    """What an asynchronous request started: the resource, and its operation if named."""

    label: str  # "Creating server web-1"
    resource_path: str | None  # GET it for the final state ("/api/v1/vms/<id>")
    resource_id: str | None = None
    operation_id: str | None = None
    deleting: bool = False
    resume: str | None = None  # what to run to look again, without an operation to wait on

    @classmethod
    def of(
        cls,
        response: httpx.Response,
        label: str,
        resource_path: str | None,
        *,
        resource_id: str | None = None,
        deleting: bool = False,
        resume: str | None = None,
    ) -> Pending:
        return cls(label, resource_path, resource_id, operation_id(response), deleting, resume)


def operation_id(response: httpx.Response) -> str | None:
    """The id in `Operation-Location: /api/v1/operations/<id>` (absent on replays)."""
    location = response.headers.get("Operation-Location")
    if not location:
        return None
    return location.rstrip("/").rsplit("/", 1)[-1] or None


class Progress:
    """ "Creating server web-1: networking -> spawning ... ACTIVE", one line rewritten on a
    terminal's stderr; nothing at all otherwise."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.steps: list[str] = []

    def step(self, text: str | None) -> None:
        if text and (not self.steps or self.steps[-1] != text):
            self.steps.append(text)
            self._draw("")

    def finish(self, final: str) -> None:
        self._draw(f" ... {final}\n")

    def _draw(self, tail: str) -> None:
        if self.live:
            line = f"{self.label}: {' -> '.join(self.steps)}" if self.steps else self.label
            self.stream.write(f"\r\x1b[2K{line}{tail}")
            self.stream.flush()


class WaitTimeout(Exception):
    pass


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise WaitTimeout()
    return left


def _op_step(op: dict[str, Any]) -> str | None:
    status = str(op.get("status") or "")
    return status if status in TERMINAL or not op.get("step") else str(op["step"])


def stream_operation(
    api: Api, op_id: str, deadline: float, progress: Progress
) -> dict[str, Any] | None:
    """The operation in a terminal status, from GET /operations/{id}/events; None when the
    stream is unavailable or ends early (the caller polls)."""
    from httpx_sse import SSEError, connect_sse

    timeout = httpx.Timeout(10.0, read=max(0.5, min(_remaining(deadline), 60.0)))
    try:
        with connect_sse(
            api.client,
            "GET",
            f"/api/v1/operations/{op_id}/events",
            headers=api.auth_headers,
            timeout=timeout,
        ) as source:
            if source.response.status_code == 401:
                source.response.read()
                raise http.api_error(source.response, api.target)
            if source.response.status_code != 200:
                return None
            for event in source.iter_sse():
                if event.event == "operation":
                    op = json.loads(event.data)
                    progress.step(_op_step(op))
                    if op.get("status") in TERMINAL:
                        return dict(op)
                elif event.data:
                    resource = (json.loads(event.data) or {}).get("resource") or {}
                    progress.step(resource.get("task_state") or resource.get("status"))
                _remaining(deadline)
    except (httpx.HTTPError, SSEError, ValueError):
        return None
    return None


class Poller:
    """GETs that ride out a blip (a 5xx, a 429, a dropped connection) but not a server that
    is gone: refused connections for UNREACHABLE_AFTER seconds in a row end the wait with the
    one-line transport error (exit 1), instead of waiting out --wait-timeout in silence."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self._unreachable_since: float | None = None

    def get(self, path: str) -> httpx.Response | None:
        """One poll: None for a failure worth retrying."""
        try:
            response = self.api.client.get(path, headers=self.api.auth_headers)
        except httpx.ConnectError as exc:
            now = time.monotonic()
            if self._unreachable_since is None:
                self._unreachable_since = now
            elif now - self._unreachable_since >= UNREACHABLE_AFTER:
                raise http.transport_error(exc, str(self.api.client.base_url)) from None
            return None
        except httpx.HTTPError:
            return None
        self._unreachable_since = None
        if response.status_code >= 500 or response.status_code == 429:
            return None
        return response


def poll_operation(api: Api, op_id: str, deadline: float, progress: Progress) -> dict[str, Any]:
    """GET /operations/{id} with capped exponential backoff until a terminal status."""
    delay = FIRST_DELAY
    poller = Poller(api)
    while True:
        response = poller.get(f"/api/v1/operations/{op_id}")
        if response is not None:
            if not response.is_success:
                raise http.api_error(response, api.target)
            op: dict[str, Any] = response.json()
            progress.step(_op_step(op))
            if op.get("status") in TERMINAL:
                return op
        http.sleep(min(delay, _remaining(deadline)))
        delay = min(delay * 2, MAX_DELAY)


def follow_operation(api: Api, op_id: str, deadline: float, progress: Progress) -> dict[str, Any]:
    """The operation once it ended: over SSE while the stream lasts, then by polling."""
    op = stream_operation(api, op_id, deadline, progress)
    return op if op is not None else poll_operation(api, op_id, deadline, progress)


def is_busy(resource: dict[str, Any]) -> bool:
    status = str(resource.get("status") or "")
    return (
        bool(resource.get("task_state"))
        or status.upper() in _BUSY
        or status.upper().startswith("PENDING")
        or (status.islower() and (status.endswith("ing") or status in ("reserved", "queued")))
    )


def is_gone(resource: dict[str, Any]) -> bool:
    """Deleted, though still shown (Nova shows a deleted server for a while)."""
    return str(resource.get("status") or "").upper() in ("DELETED", "SOFT_DELETED") or bool(
        resource.get("deleted_at")
    )


def is_error(resource: dict[str, Any]) -> bool:
    return str(resource.get("status") or "").lower().startswith("error")


def fault_of(resource: dict[str, Any]) -> str:
    fault = resource.get("fault")
    if isinstance(fault, dict) and fault.get("message"):
        return str(fault["message"])
    return str(resource.get("error_message") or resource.get("status") or "unknown error")


def poll_resource(
    api: Api, path: str, deadline: float, progress: Progress, *, deleting: bool
) -> dict[str, Any] | None:
    """GET the resource until it settles (or, deleting, until it is gone: None)."""
    delay = FIRST_DELAY
    poller = Poller(api)
    while True:
        response = poller.get(path)
        if response is not None:
            if response.status_code == 404 and deleting:
                return None
            if not response.is_success:
                raise http.api_error(response, api.target)
            resource: dict[str, Any] = response.json()
            if deleting and is_gone(resource):
                return None
            progress.step(resource.get("task_state") or resource.get("status"))
            if is_error(resource) or not is_busy(resource):
                return resource
        http.sleep(min(delay, _remaining(deadline)))
        delay = min(delay * 2, MAX_DELAY)


def _final_state(api: Api, pending: Pending) -> dict[str, Any] | None:
    if pending.resource_path is None:
        return None
    response = Poller(api).get(pending.resource_path)
    if response is not None and response.status_code == 404 and pending.deleting:
        return None
    if (
        response is not None
        and response.is_success
        and pending.deleting
        and is_gone(response.json())
    ):
        return None
    if response is None or not response.is_success:
        return http.Api.get(api, pending.resource_path)  # type: ignore[no-any-return]
    return response.json()  # type: ignore[no-any-return]


def _what(pending: Pending) -> str:
    return f" (id {pending.resource_id})" if pending.resource_id else ""


def wait_for(api: Api, pending: Pending, options: WaitOptions) -> dict[str, Any] | None:
    """The resource once the work settled (None once deleted). An operation that failed is a
    CliError (exit 1) with its fault; running out of time is exit 124, naming how to resume."""
    deadline = time.monotonic() + options.timeout
    progress = Progress(pending.label)
    try:
        if pending.operation_id:
            op = follow_operation(api, pending.operation_id, deadline, progress)
            if op.get("status") != "succeeded":
                progress.finish(str(op.get("status", "failed")).upper())
                fault = (op.get("fault") or {}).get("message") or op.get("status")
                raise CliError(f"{pending.label}{_what(pending)} failed: {fault}")
            resource = _final_state(api, pending)
        elif pending.resource_path:
            resource = poll_resource(
                api, pending.resource_path, deadline, progress, deleting=pending.deleting
            )
        else:
            return None
    except WaitTimeout:
        progress.finish("still going")
        resume = (
            f"stackgate operation wait {pending.operation_id}"
            if pending.operation_id
            else pending.resume
        )
        raise CliError(
            f"Timed out after {options.timeout:g} s waiting: {pending.label}{_what(pending)}; "
            "it goes on on the server." + (f"\nResume waiting with: {resume}" if resume else ""),
            EXIT_TIMEOUT,
        ) from None
    if resource is not None and is_error(resource):
        progress.finish(str(resource.get("status")))
        raise CliError(f"{pending.label}{_what(pending)} failed: {fault_of(resource)}")
    progress.finish("deleted" if resource is None else str(resource.get("status", "done")))
    return resource

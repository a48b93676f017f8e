"""Request ids, the access log and the audit trail, as plain ASGI middleware (cheaper than
BaseHTTPMiddleware)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stackgate.core.logging import access_log_claim
from stackgate.core.operations import Queued, collecting_queued

REQUEST_ID_HEADER = b"x-request-id"
_VALID_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
log = structlog.get_logger("stackgate.access")


class RequestIdMiddleware:
    """Accepts a sane incoming X-Request-ID or makes one; echoes it; logs one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER and _VALID_ID.match(value):
                request_id = value.decode()
                break
        if not request_id:
            request_id = f"req-{uuid.uuid4()}"
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        header = request_id.encode()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0] != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, header))
                message["headers"] = headers
            await send(message)

        # Under the gateway in one process (`stackgate serve`) the gateway's line is the
        # request's one access line: it also sees what the gateway answers itself (413, 429).
        with access_log_claim() as ours:
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                if ours:
                    log.info(
                        "request",
                        method=scope["method"],
                        path=_printable(scope["path"]),
                        status=status,
                        duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    )
                structlog.contextvars.unbind_contextvars("request_id")


MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OPERATION_LOCATION = b"operation-location"


def started_operation(queued: list[Queued], location: str | None) -> Queued | None:
    """The operation an answer is about: the last one queued for the resource its Location
    names (a server create also queues its ports' and volumes' operations), else the last."""
    if not queued:
        return None
    segments = set((location or "").split("?")[0].split("/"))
    for op in reversed(queued):
        if op.resource_id in segments:
            return op
    return queued[-1]


class OperationLinkMiddleware:
    """A successful request that queued work answers `Operation-Location:
    /api/v1/operations/{id}`, where its progress can be read or followed (not on an idempotent
    replay: that request queued nothing, and the original answer had the link)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        with collecting_queued() as queued:

            async def send_with_link(message: Message) -> None:
                if message["type"] == "http.response.start" and message["status"] < 300:
                    headers = dict(message.get("headers", []))
                    location = headers.get(b"location", b"").decode("latin-1")
                    op = (
                        None
                        if b"idempotent-replayed" in headers
                        else (started_operation(queued, location))
                    )
                    if op is not None:
                        link = f"/api/v1/operations/{op.id}".encode()
                        message["headers"] = [
                            *message.get("headers", []),
                            (OPERATION_LOCATION, link),
                        ]
                await send(message)

            await self.app(scope, receive, send_with_link)


_VERBS = {"POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    request_id: str | None
    user_id: str | None
    user_name: str | None
    project_id: str | None
    method: str
    path: str
    action: str
    resource_type: str | None
    resource_id: str | None
    status_code: int
    outcome: str
    client_address: str | None


class AuditSink(Protocol):
    async def record(self, entry: AuditEntry) -> None: ...


def describe(
    method: str, template: str | None, params: dict[str, Any]
) -> tuple[str, str | None, str | None]:
    """(action, resource type, resource id) from the matched route, e.g.
    POST /api/v1/vms/{server_id}/actions/{action} -> ("stop", "vms", <id>)."""
    parts = [p for p in (template or "").split("/") if p][2:]  # drop "api", "v1"
    if not parts:
        return _VERBS[method], None, None
    resource_type = parts[0]
    resource_id = None
    if len(parts) > 1 and parts[1].startswith("{"):
        resource_id = str(params.get(parts[1].strip("{}"), "")) or None
    rest = [p for p in parts[2:] if not p.startswith("{")]
    if "action" in params and rest[-1:] == ["actions"]:
        return str(params["action"]), resource_type, resource_id
    verb = _VERBS[method]
    return (".".join([*rest, verb]) if rest else verb), resource_type, resource_id


def created_id(location: str, resource_type: str | None) -> str | None:
    """The id a create answered in Location, e.g. /api/v1/vms/<id> for POST /api/v1/vms, so
    the trail of a resource starts with its creation."""
    parts = [p for p in location.split("?")[0].split("/") if p][2:]
    return parts[1] if len(parts) == 2 and parts[0] == resource_type else None


class AuditMiddleware:
    """Records every mutating /api request, whatever its outcome, before answering."""

    def __init__(self, app: ASGIApp, sink: Callable[[Scope], AuditSink | None]) -> None:
        self.app = app
        self._sink = sink

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in MUTATING
            or not scope["path"].startswith("/api/")
        ):
            await self.app(scope, receive, send)
            return
        recorded = False

        async def send_audited(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                location = dict(message.get("headers", [])).get(b"location")
                await self._record(scope, int(message["status"]), location)
            await send(message)

        try:
            await self.app(scope, receive, send_audited)
        except Exception:
            if not recorded:
                recorded = True
                await self._record(scope, 500)
            raise

    async def _record(self, scope: Scope, status: int, location: bytes | None = None) -> None:
        sink = self._sink(scope)
        if sink is None:
            return
        state = scope.get("state", {})
        ctx = state.get("context")
        route = scope.get("route")
        action, resource_type, resource_id = describe(
            scope["method"], getattr(route, "path", None), scope.get("path_params", {})
        )
        if resource_id is None and location is not None and status < 400:
            resource_id = created_id(location.decode("latin-1"), resource_type)
        outcome = "success" if status < 400 else "refused" if status < 500 else "failed"
        client = scope.get("client")
        entry = AuditEntry(
            at=datetime.now(UTC),
            request_id=state.get("request_id"),
            user_id=getattr(ctx, "user_id", None),
            user_name=getattr(ctx, "user_name", None),
            project_id=getattr(ctx, "project_id", None),
            method=scope["method"],
            path=_printable(scope["path"]),
            action=action[:64],
            resource_type=resource_type,
            resource_id=_printable(resource_id)[:255] if resource_id else None,
            status_code=status,
            outcome=outcome,
            client_address=client[0] if client else None,
        )
        try:
            await sink.record(entry)
        except Exception:
            log.exception("audit_write_failed", path=scope["path"], status=status)


def _printable(text: str) -> str:
    """NUL cannot be stored in PostgreSQL text: keep it visible, escaped."""
    return text.replace("\x00", "\\x00")

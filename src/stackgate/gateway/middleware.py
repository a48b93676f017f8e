"""The gateway's ASGI middleware: request ids and the body size limit (plain ASGI, cheaper than
BaseHTTPMiddleware, and it never buffers a body)."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stackgate.core.logging import access_log_claim

REQUEST_ID = b"x-request-id"
_VALID_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
log = structlog.get_logger("stackgate.gateway.access")


async def send_problem(
    scope: Scope,
    send: Send,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> None:
    """An RFC 9457 problem answered straight from middleware (before any app ran)."""
    request_id = scope.get("state", {}).get("request_id")
    body = json.dumps(
        {
            "type": f"https://stackgate.dev/problems/{code}",
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
            "request_id": request_id,
        }
    ).encode()
    raw = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class RequestIdMiddleware:
    """Accepts a sane incoming X-Request-ID or makes one, puts it on the request (so the
    upstream service logs and echoes the same id) and on the answer; one access-log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = b""
        headers = []
        for name, value in scope["headers"]:
            if name == REQUEST_ID:
                if not request_id and _VALID_ID.match(value):
                    request_id = value
                continue
            headers.append((name, value))
        if not request_id:
            request_id = f"req-{uuid.uuid4()}".encode()
        headers.append((REQUEST_ID, request_id))
        scope["headers"] = headers
        scope.setdefault("state", {})["request_id"] = request_id.decode()
        structlog.contextvars.bind_contextvars(request_id=request_id.decode())
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                out = [h for h in message.get("headers", []) if h[0].lower() != REQUEST_ID]
                out.append((REQUEST_ID, request_id))
                message["headers"] = out
            await send(message)

        # The request's one access line in this process: an app mounted under the gateway
        # (`stackgate serve`) sees the claim and does not log it again.
        with access_log_claim() as ours:
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                structlog.contextvars.unbind_contextvars("request_id")
                if ours:
                    log.info(
                        "gateway_request",
                        request_id=request_id.decode(),
                        method=scope["method"],
                        path=scope["path"].replace("\x00", "\\x00"),
                        status=status,
                        duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    )


class BodyTooLarge(HTTPException):
    """Raised from `receive` when the streamed body passes the limit: every app's problem
    handler turns it into 413 (it is an HTTPException), whoever is reading the body."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodyLimitMiddleware:
    """413 for a body over `limit` bytes: at once when Content-Length says so, otherwise as
    soon as the streamed body (chunked, or lying about its length) passes the limit."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await send_problem(
                scope,
                send,
                status=413,
                code="payload_too_large",
                title="Payload too large",
                detail=f"the request body is larger than {self.limit} bytes",
                headers={"connection": "close"},
            )
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            # An app without an HTTPException handler let it through: answer it here.
            if started:
                raise
            await send_problem(
                scope,
                send,
                status=413,
                code="payload_too_large",
                title="Payload too large",
                detail=f"the request body is larger than {self.limit} bytes",
                headers={"connection": "close"},
            )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of one request header (names are lower case in ASGI)."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def client_address(scope: Scope) -> str:
    client: Any = scope.get("client")
    return str(client[0]) if client else "unknown"

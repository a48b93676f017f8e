"""A tiny stand-in for the parts of the API the lead's branch adds (Operation-Location,
/operations, the SSE streams) and for answers the real app gives only under load (429, 503),
so --wait, event watch and the error messages are tested on exact, repeatable answers."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from stackgate.cli.client import http
from tests.cli.conftest import TestClient

SERVER = {"id": "srv-1", "name": "web-1", "status": "BUILD", "task_state": "spawning"}
PROBLEM = "application/problem+json"


def sse(event: str, data: Any, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data)}\n\n"


def op(status: str, step: str | None = None, fault: str | None = None) -> dict[str, Any]:
    return {
        "id": "op-1",
        "action": "create",
        "resource_type": "server",
        "resource_id": "srv-1",
        "status": status,
        "step": step,
        "fault": {"message": fault} if fault else None,
    }


@dataclass
class Fake:
    """What the fake answers, set by each test."""

    stream: list[str] | None = None  # the operation's SSE body; None: 404 (no stream)
    polls: list[dict[str, Any]] = field(default_factory=list)  # GET /operations/op-1, in turn
    server: dict[str, Any] = field(
        default_factory=lambda: {**SERVER, "status": "ACTIVE", "task_state": None}
    )
    event_streams: list[list[str]] = field(default_factory=list)
    last_event_ids: list[str | None] = field(default_factory=list)
    list_answers: list[int] = field(default_factory=list)  # statuses for GET /vms, in turn
    create_status: int = 202
    seen_polls: int = 0


def build(fake: Fake) -> FastAPI:
    app = FastAPI()

    @app.post("/api/v1/vms")
    async def create() -> Response:
        if fake.create_status == 503:
            body = {
                "type": "about:blank",
                "title": "Cloud unavailable",
                "status": 503,
                "detail": "the cloud's circuit breaker is open",
                "code": "cloud_unavailable",
            }
            return JSONResponse(
                body,
                503,
                media_type=PROBLEM,
                headers={"Retry-After": "30", "X-Request-ID": "req-fake-503"},
            )
        return JSONResponse(
            SERVER,
            202,
            headers={
                "Operation-Location": "/api/v1/operations/op-1",
                "Location": "/api/v1/vms/srv-1",
            },
        )

    @app.get("/api/v1/vms")
    async def list_servers() -> Response:
        status = fake.list_answers.pop(0) if fake.list_answers else 200
        if status == 429:
            body = {"title": "Too many requests", "status": 429, "detail": "slow down"}
            return JSONResponse(body, 429, media_type=PROBLEM, headers={"Retry-After": "0"})
        return JSONResponse({"items": [fake.server], "next_cursor": None})

    @app.get("/api/v1/vms/{server_id}")
    async def get_server(server_id: str) -> Response:
        return JSONResponse(fake.server)

    @app.get("/api/v1/operations/op-1/events")
    async def events() -> Response:
        if fake.stream is None:
            return JSONResponse({"title": "Not Found", "status": 404}, 404, media_type=PROBLEM)
        body = list(fake.stream)

        async def chunks() -> AsyncIterator[str]:
            for chunk in body:
                yield chunk

        return StreamingResponse(chunks(), media_type="text/event-stream")

    @app.get("/api/v1/operations/op-1")
    async def get_op() -> Response:
        fake.seen_polls += 1
        answer = fake.polls.pop(0) if len(fake.polls) > 1 else fake.polls[0]
        return JSONResponse(answer)

    @app.get("/api/v1/events")
    async def all_events(request: Request) -> Response:
        fake.last_event_ids.append(request.headers.get("Last-Event-ID"))
        body = fake.event_streams.pop(0) if fake.event_streams else []

        async def chunks() -> AsyncIterator[str]:
            for chunk in body:
                yield chunk

        return StreamingResponse(chunks(), media_type="text/event-stream")

    return app


@contextlib.contextmanager
def serving(fake: Fake) -> Iterator[TestClient]:
    with TestClient(build(fake), base_url="http://testserver") as client:
        http.set_client_factory(lambda url: contextlib.nullcontext(client))
        try:
            yield client
        finally:
            http.set_client_factory(None)

"""GET /api/v1/events: the project's live events as Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from stackgate.activity.stream.service import EventStreamService, Sent
from stackgate.core.deps import ContextDep, policy_doc
from stackgate.core.errors import InvalidInput
from stackgate.core.problem import problem_responses
from stackgate.events.feed import EventFilter, sse_frame

MAX_SEQ = 10**18 - 1
# Tells EventSource clients how long to wait before reconnecting (milliseconds).
RETRY_MS = 3000


async def _stream(request: Request) -> EventStreamService:
    service: EventStreamService = request.app.state.container.event_stream
    return service


StreamDep = Annotated[EventStreamService, Depends(_stream)]
Timeout = Annotated[
    float | None,
    Query(
        gt=0,
        le=86_400,
        description="End the stream after this many seconds (Kubernetes' timeoutSeconds); "
        "by default it lasts until the client goes.",
    ),
]

router = APIRouter(
    prefix="/api/v1", tags=["events"], responses=problem_responses(400, 401, 403, 422)
)


# The first bytes of every stream: a comment (so the client sees the stream open at once) and
# how long EventSource clients wait before reconnecting.
HELLO = sse_frame(comment="stackgate", retry=RETRY_MS)
# As OpenAPI 3.2 describes an event stream: the schema of each event (Schemathesis checks
# every event against it).
SSE_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `id: <seq>`, `event: <type>`, `data: <JSON>`.",
        "content": {
            "text/event-stream": {
                "itemSchema": {
                    "type": "object",
                    "properties": {
                        "data": {"type": "string", "contentMediaType": "application/json"},
                        "event": {"type": "string"},
                        "id": {"type": "string"},
                        "retry": {"type": "integer", "minimum": 0},
                    },
                }
            }
        },
    }
}


def event_stream(sents: AsyncIterator[Sent]) -> StreamingResponse:
    """The answer of a stream route: the events' wire form as they come, never buffered
    (X-Accel-Buffering: no for nginx). FastAPI's own EventSourceResponse encodes every item
    for every stream and arms a keep-alive timer per item, which cost most of an event's CPU
    with a few hundred streams open; here frames come encoded and the stream pings itself."""

    async def frames() -> AsyncIterator[bytes]:
        yield HELLO
        async for sent in sents:
            yield sent.frame

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def resume_point(last_event_id: str | None, since: int | None) -> int | None:
    """Where a stream resumes: the Last-Event-ID a reconnecting client sends back, else
    `?since=`, else from now on. An id this stream never sent cannot be resumed from: -1,
    below anything kept, so the client is told to re-list (resync)."""
    if last_event_id is None or not last_event_id.strip():
        return since
    value = last_event_id.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else -1


async def _scope(
    ctx: ContextDep,
    stream: StreamDep,
    type_: Annotated[
        list[str] | None,
        Query(
            alias="type",
            max_length=20,
            description="Event types to send; `*` matches any run of characters "
            "(e.g. `compute.instance.*`). Repeat for several.",
        ),
    ] = None,
    resource_id: Annotated[str | None, Query(max_length=64)] = None,
    project_id: Annotated[
        str | None, Query(max_length=64, description="Another project (admins only).")
    ] = None,
    all_projects: Annotated[bool, Query(description="Every project (admins only).")] = False,
) -> EventFilter:
    types = tuple(t for t in (type_ or []) if t)
    if any(len(t) > 128 for t in types):
        raise InvalidInput("an event type pattern is at most 128 characters", field="type")
    return stream.scope(
        ctx,
        project_id=project_id,
        all_projects=all_projects,
        types=types,
        resource_id=resource_id,
    )


async def _since(
    since: Annotated[
        int | None,
        Query(ge=0, le=MAX_SEQ, description="Resume after this event id (`seq`)."),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            max_length=256,
            description="The id of the last event received (what EventSource sends back).",
        ),
    ] = None,
) -> int | None:
    return resume_point(last_event_id, since)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses=SSE_ANSWER,
    openapi_extra=policy_doc("event:read"),
)
async def watch_events(
    stream: StreamDep,
    flt: Annotated[EventFilter, Depends(_scope)],
    since: Annotated[int | None, Depends(_since)],
    timeout_seconds: Timeout = None,
) -> StreamingResponse:
    """Every state change of the project's servers, volumes, snapshots, networks, subnets,
    ports, security groups, rules and floating IPs, as it commits. Reconnect with
    `Last-Event-ID` (or `?since=`) to get everything after it, with no gap and no repeat;
    `event: resync` means that point is no longer kept: list again, then carry on."""
    return event_stream(stream.stream(flt, since=since, duration=timeout_seconds))

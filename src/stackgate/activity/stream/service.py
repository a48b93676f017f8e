"""The live event stream: replay from the table after the client's last id, then live.

Resuming loses and repeats nothing: the subscription is taken first (everything numbered after
the feed's position then reaches its queue), the rows between the client's id and that position
are replayed from the table, and live events at or below the last one sent are skipped. An id
the table no longer covers (purged, or from before a reset) gets one `resync` event, the
analogue of Kubernetes' 410 Gone: re-list, then carry on from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from stackgate.core.context import RequestContext
from stackgate.core.errors import Forbidden
from stackgate.events.feed import EventFeed, EventFilter, StreamEvent, sse_frame
from stackgate.identity.public import policy

RESYNC = "resync"


# A comment line now and then keeps proxies from cutting an idle stream.
PING_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class Sent:
    """One server-sent event: its name, its JSON data, its id (to resume after), and how it
    goes on the wire (an outbox event's was encoded once by the feed, for every stream)."""

    event: str | None
    data: dict[str, Any] | None
    id: str | None = None
    frame: bytes = b""

    @classmethod
    def message(cls, event: str, data: dict[str, Any], id: str | None = None) -> Sent:
        return cls(event, data, id, sse_frame(event, data, id))

    @classmethod
    def of(cls, event: StreamEvent) -> Sent:
        return cls(event.event_type, event.body, str(event.seq), event.frame)


PING = Sent(None, None, frame=sse_frame(comment="ping"))


class EventStreamService:
    def __init__(self, feed: EventFeed) -> None:
        self._feed = feed

    def scope(
        self,
        ctx: RequestContext,
        *,
        project_id: str | None,
        all_projects: bool,
        types: tuple[str, ...],
        resource_id: str | None,
    ) -> EventFilter:
        """The caller's project's events; an admin may name another project or ask for all."""
        policy.enforce(ctx, "event:read")
        if not ctx.is_admin and (all_projects or project_id not in (None, ctx.project_id)):
            raise Forbidden(
                "only a cloud admin may watch another project's events", rule="event:read"
            )
        scoped = None if all_projects and project_id is None else project_id or ctx.project_id
        return EventFilter(project_id=scoped, types=types, resource_id=resource_id)

    async def stream(
        self, flt: EventFilter, *, since: int | None, duration: float | None = None
    ) -> AsyncIterator[Sent]:
        """Events after `since` (None: from now on), in order, until `duration` seconds passed
        (None: until the client goes) or this subscriber fell too far behind."""
        subscription = await self._feed.subscribe(flt)
        loop = asyncio.get_running_loop()
        ends_at = None if duration is None else loop.time() + duration
        try:
            cursor = subscription.start
            if since is not None:
                kept = await self._feed.position()
                if since < kept.purged_seq or since > kept.last_seq:
                    yield Sent.message(RESYNC, {"seq": cursor}, str(cursor))
                else:
                    cursor = since
            while cursor < subscription.start:
                events, cursor = await self._feed.read(flt, after=cursor, until=subscription.start)
                for old in events:
                    yield Sent.of(old)
            while True:
                wait = PING_SECONDS
                if ends_at is not None:
                    wait = min(wait, ends_at - loop.time())
                    if wait <= 0:
                        return
                live = await subscription.next(wait)
                if subscription.dropped:
                    return  # the client resumes from its last id, from the table
                if live is None:
                    yield PING
                elif live.seq > cursor:
                    cursor = live.seq
                    yield Sent.of(live)
        finally:
            self._feed.unsubscribe(subscription)

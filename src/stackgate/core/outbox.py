"""The outbox: events written in the same transaction as the state change they describe.

The relay (events/relay.py) publishes unpublished rows in id order and stamps `published_at`
only after the broker confirmed (or the in-process subscribers returned). Ids are time-ordered
UUIDs (version 7 layout), so `ORDER BY id` is the order in which events were recorded, even
for several events recorded within one flush.

The live event stream reads the same rows by `seq`, a number the sequencer
(events/sequencer.py) stamps on committed rows one batch at a time under the lock of the one
`event_sequence` row. A number taken at insert (BIGSERIAL, AUTO_INCREMENT) would become visible
at commit, out of order, and a reader at `seq > 10` could see 11 before 10 commits and skip 10
for good; stamped after commit and serialised, `seq` is gap-free in the order readers see it.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stackgate.core.clock import utcnow
from stackgate.core.db import Base

_lock = threading.Lock()
_last = (0, 0)  # (milliseconds, sequence) of the last id made by this process


def event_id() -> str:
    """A UUIDv7-layout id: 48 bits of Unix milliseconds, a 12-bit sequence, 62 random bits.

    Monotonic within a process (the sequence counts up inside one millisecond), so ids sort in
    the order they were made; unique across processes through the random bits.
    """
    global _last
    with _lock:
        millis = time.time_ns() // 1_000_000
        last_millis, seq = _last
        if millis <= last_millis:
            millis, seq = last_millis, seq + 1
            if seq > 0xFFF:
                millis, seq = last_millis + 1, 0
        else:
            seq = 0
        _last = (millis, seq)
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (millis << 80) | (0x7 << 76) | (seq << 64) | (0b10 << 62) | rand
    return str(uuid.UUID(int=value))


def iso_z(when: datetime) -> str:
    """ISO 8601 in UTC with a `Z` (DESIGN.md 4)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


class OutboxEvent(Base):
    __tablename__ = "outbox_event"
    __table_args__ = (
        # The relay's claim (published_at IS NULL ... ORDER BY id) and its purge
        # (published_at < cutoff) both walk this index.
        Index("ix_outbox_event_pending", "published_at", "id"),
        Index("ix_outbox_event_resource", "resource_id", "id"),
        # The stream's replay (seq > N ORDER BY seq) and the sequencer's search (seq IS NULL).
        Index("ix_outbox_event_seq", "seq", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=event_id)
    event_type: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    project_id: Mapped[str | None] = mapped_column(String(36))
    user_id: Mapped[str | None] = mapped_column(String(36))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(36))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    published_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Not before this time: a claim leases the row until then; a failure backs it off.
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Its place in the live stream; None until the sequencer has stamped it.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    # Enough of the resource to render a row (name, status, task state, fault).
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def envelope(self) -> dict[str, Any]:
        """The message body on stackgate.events and what in-process subscribers receive."""
        return {
            "event_id": self.id,
            "event_type": self.event_type,
            "occurred_at": iso_z(self.occurred_at),
            "project_id": self.project_id,
            "user_id": self.user_id,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "payload": dict(self.payload or {}),
        }


SEQUENCE_ROW = 1


class EventSequence(Base):
    """The one row (id 1) the sequencer locks: the last `seq` stamped, and the highest `seq`
    purged (a stream resuming at or below it has lost events and must re-list)."""

    __tablename__ = "event_sequence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    purged_seq: Mapped[int] = mapped_column(BigInteger, default=0)

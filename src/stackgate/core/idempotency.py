"""Idempotency-Key records (IETF draft-ietf-httpapi-idempotency-key-header, Stripe's rules).

The record commits in the same transaction as the resource it created, so a retry after a crash
sees either nothing (and redoes everything) or everything (and replays the answer).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from stackgate.core.clock import utcnow
from stackgate.core.db import Base, IdMixin
from stackgate.core.errors import IdempotencyKeyReused


class IdempotencyRecord(IdMixin, Base):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("project_id", "method", "path", "key"),)

    project_id: Mapped[str] = mapped_column(String(36))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    resource_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


@dataclass(frozen=True, slots=True)
class IdempotencyScope:
    """Where a key applies: one project, one method and path, one request fingerprint."""

    project_id: str
    method: str
    path: str
    key: str
    fingerprint: str

    @classmethod
    def of_request(
        cls, project_id: str, method: str, path: str, key: str | None, payload: Any
    ) -> IdempotencyScope | None:
        """The scope of a request that sent `Idempotency-Key`, or None when it sent none."""
        if key is None:
            return None
        return cls(project_id, method, path, key, fingerprint(payload))


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response recorded under a key, replayed verbatim for a repeated request."""

    status_code: int
    body: dict[str, Any]
    resource_id: str | None


def fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, scope: IdempotencyScope, *, now: datetime) -> StoredResponse | None:
        """The stored answer for this key, or None; a different payload is refused (422)."""
        stmt = select(IdempotencyRecord).where(
            IdempotencyRecord.project_id == scope.project_id,
            IdempotencyRecord.method == scope.method,
            IdempotencyRecord.path == scope.path,
            IdempotencyRecord.key == scope.key,
        )
        record = (await self.session.scalars(stmt)).first()
        if record is None:
            return None
        if record.expires_at <= now:
            await self.session.delete(record)
            await self.session.flush()
            return None
        if record.fingerprint != scope.fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used with a different request body", key=scope.key
            )
        return StoredResponse(record.status_code, record.body, record.resource_id)

    def add(
        self, scope: IdempotencyScope, response: StoredResponse, *, expires_at: datetime
    ) -> None:
        self.session.add(
            IdempotencyRecord(
                project_id=scope.project_id,
                method=scope.method,
                path=scope.path,
                key=scope.key,
                fingerprint=scope.fingerprint,
                status_code=response.status_code,
                body=response.body,
                resource_id=response.resource_id,
                expires_at=expires_at,
            )
        )

    async def purge_expired(self, *, now: datetime) -> int:
        result = await self.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

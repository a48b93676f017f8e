"""The domain error tree: stable codes and categories, no HTTP (CONVENTIONS.md, Errors)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import StrEnum
from typing import Any


class Category(StrEnum):
    """What kind of failure; core/problem.py maps each to one HTTP status."""

    INVALID = "invalid"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    FORBIDDEN = "forbidden"
    UNAUTHORIZED = "unauthorized"
    UNPROCESSABLE = "unprocessable"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"


class StackGateError(Exception):
    """Base of every error a use case may raise on purpose."""

    code: str = "error"
    title: str = "Error"
    category: Category = Category.INVALID

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(StackGateError):
    code = "invalid_input"
    title = "Invalid input"
    category = Category.INVALID


class AmbiguousReference(InvalidInput):
    """A name in a body matches several resources; the caller must use the id."""

    code = "ambiguous_reference"
    title = "Ambiguous reference"

    def __init__(self, field: str, ref: str, kind: str | None = None) -> None:
        super().__init__(
            f"{field}: several {kind or field.rstrip('s')}s are named {ref!r}; use the id",
            field=field,
        )


class UnknownReference(InvalidInput):
    """A body field names a resource the caller cannot use (400, as Nova and Neutron answer).
    Every feature's unknown-reference error is one of these, so each says the same three
    things: what was not found, the close matches among the names the caller may see (a typo
    is the usual cause), and the route that lists them."""

    code = "unknown_reference"
    title = "Unknown reference"

    def __init__(
        self,
        field: str,
        ref: str,
        *,
        kind: str,
        candidates: Iterable[str] = (),
        listed_at: str | None = None,
        why: str = "",
    ) -> None:
        close = difflib.get_close_matches(ref, sorted(set(candidates)), n=3, cutoff=0.6)
        detail = f"{field}: no {kind} named or with id {ref!r}{why}"
        if close:
            detail += f"; did you mean {' or '.join(repr(c) for c in close)}?"
        if listed_at:
            detail += f" (see GET {listed_at})"
        extra: dict[str, Any] = {"field": field, "suggestions": close}
        if listed_at:
            extra["listed_at"] = listed_at
        super().__init__(detail, **extra)


class NotFound(StackGateError):
    code = "not_found"
    title = "Not found"
    category = Category.NOT_FOUND

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident} was not found", resource=kind, id=ident)


class Conflict(StackGateError):
    code = "conflict"
    title = "Conflict"
    category = Category.CONFLICT


class ConcurrentUpdate(Conflict):
    code = "concurrent_update"
    title = "Concurrent update"

    def __init__(self, detail: str = "the resource was changed by another request; retry") -> None:
        super().__init__(detail)


class InUse(Conflict):
    code = "in_use"
    title = "Resource in use"


class Forbidden(StackGateError):
    code = "forbidden"
    title = "Forbidden"
    category = Category.FORBIDDEN


class Unauthorized(StackGateError):
    """No, or no valid, credentials (401 with WWW-Authenticate)."""

    code = "unauthorized"
    title = "Authentication required"
    category = Category.UNAUTHORIZED


class RateLimited(StackGateError):
    code = "rate_limited"
    title = "Too many requests"
    category = Category.RATE_LIMITED

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class IdempotencyKeyReused(StackGateError):
    code = "idempotency_key_reused"
    title = "Idempotency-Key reused with another request"
    category = Category.UNPROCESSABLE


class ServiceUnavailable(StackGateError):
    code = "service_unavailable"
    title = "Service unavailable"
    category = Category.UNAVAILABLE

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

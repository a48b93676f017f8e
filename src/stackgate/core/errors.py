"""The domain error tree: stable codes and categories, no HTTP (CONVENTIONS.md, Errors)."""

from __future__ import annotations

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

"""Per-client rate limits on /api/**, with X-RateLimit-Limit/Remaining/Reset on every answer and
429 problem+json with Retry-After past the limit.

The counters live in Redis when STACKGATE_REDIS_URL is set, so every gateway replica counts
against the same limit; in memory (per process) otherwise. The `limits` library's sliding
window counter: O(1) per request and no burst of twice the limit at a window boundary.

Who is a client: the subject (`sub`) of the bearer token when the request carries one, else the
client address. The gateway cannot verify tokens (the signing key stays with the API), so it
reads the subject without checking the signature: a forged token only buys its sender a bucket
of its own for requests the API then refuses with 401. Behind another proxy every caller has
that proxy's address; X-Forwarded-For is not trusted for the key.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from dataclasses import dataclass

import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stackgate.gateway.middleware import client_address, header, send_problem

log = structlog.get_logger("stackgate.gateway.ratelimit")
LIMITED_PREFIX = "/api/"


def build_storage(redis_url: str | None) -> Storage:
    """Redis (shared by every replica) when configured, else this process's memory."""
    if redis_url is None:
        return MemoryStorage()
    storage = storage_from_string(f"async+{redis_url}")
    assert isinstance(storage, Storage)
    return storage


def client_key(scope: Scope) -> str:
    """`sub:<subject>` for a bearer token that names one, else `addr:<client address>`."""
    authorization = header(scope, b"authorization")
    if authorization and authorization[:7].lower() == b"bearer ":
        subject = _unverified_subject(authorization[7:].strip())
        if subject:
            return f"sub:{subject}"
    return f"addr:{client_address(scope)}"


def _unverified_subject(token: bytes) -> str | None:
    parts = token.split(b".")
    if len(parts) != 3 or len(parts[1]) > 4096:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + b"=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    return subject[:128] if isinstance(subject, str) and subject else None


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # epoch seconds

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", str(math.ceil(self.reset_at)).encode()),
        ]


class RateLimiter:
    """Every limit of the configured list (e.g. `1000/minute;50/second`) must allow a hit;
    the headers describe the tightest one."""

    def __init__(self, spec: str, storage: Storage) -> None:
        self.items: list[RateLimitItem] = parse_many(spec) if spec.strip() else []
        self.storage = storage
        self.strategy = SlidingWindowCounterRateLimiter(storage)

    @property
    def enabled(self) -> bool:
        return bool(self.items)

    async def hit(self, key: str) -> Verdict:
        verdicts = []
        for item in self.items:
            allowed = await self.strategy.hit(item, "gateway", key)
            stats = await self.strategy.get_window_stats(item, "gateway", key)
            verdicts.append(
                Verdict(allowed, item.amount, max(stats.remaining, 0), stats.reset_time)
            )
        refused = [v for v in verdicts if not v.allowed]
        if refused:
            return max(refused, key=lambda v: v.reset_at)
        return min(verdicts, key=lambda v: (v.remaining, -v.reset_at))

    async def check(self) -> None:
        if not await self.storage.check():
            raise ConnectionError("the rate-limit storage does not answer")


class RateLimitMiddleware:
    """Counts each /api/** request against its client's limit before the app sees it. When the
    counter store fails the request goes through (logged): rate limiting is protection, not a
    dependency that should take the gateway down."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self.limiter.enabled
            or not scope["path"].startswith(LIMITED_PREFIX)
            or scope["method"] == "OPTIONS"
        ):
            await self.app(scope, receive, send)
            return
        try:
            verdict = await self.limiter.hit(client_key(scope))
        except Exception as exc:
            log.warning("rate_limit_store_failed", error=repr(exc))
            await self.app(scope, receive, send)
            return
        if not verdict.allowed:
            retry_after = max(1, math.ceil(verdict.reset_at - time.time()))
            await send_problem(
                scope,
                send,
                status=429,
                code="rate_limited",
                title="Too many requests",
                detail=f"more than {verdict.limit} requests in the window; retry in "
                f"{retry_after} s",
                headers={
                    "retry-after": str(retry_after),
                    **{k.decode(): v.decode() for k, v in verdict.headers()},
                },
            )
            return
        extra = verdict.headers()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                # An upstream answer that speaks of its own, narrower limit keeps its headers.
                if not any(h[0].lower().startswith(b"x-ratelimit-") for h in headers):
                    message["headers"] = [*headers, *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

"""Forwarding a request to an upstream service over HTTP and streaming its answer back.

One shared httpx.AsyncClient per upstream (a connection pool, configured connect/read
timeouts, no redirects followed, no proxy variables read). The method, path, query string,
body (streamed) and end-to-end request headers go upstream unchanged; the status, the body
(streamed, as received) and the end-to-end response headers come back unchanged. Hop-by-hop
headers (RFC 9110 7.6.1) are dropped both ways. An upstream that is down answers 502 at once; one
that does not answer in time answers 504; both with Retry-After, as problem+json.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import AsyncIterator

import httpx
import structlog
from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from stackgate.core.problem import problem_response

log = structlog.get_logger("stackgate.gateway.proxy")

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Set by the gateway itself on the way up, never taken from the client.
_REPLACED_UP = frozenset({"host", "content-length", "x-forwarded-for", "x-forwarded-proto",
                          "x-forwarded-host"})  # fmt: skip
# The gateway's own server/date headers (uvicorn's) replace the upstream's.
_DROPPED_DOWN = frozenset({"server", "date"})
RETRY_AFTER = "5"
CONNECTIONS_PER_POOL = 8


class Upstream:
    """One service behind the gateway, reached over HTTP."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        connect_timeout: float,
        read_timeout: float,
        max_connections: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        # httpcore's pool scans every connection of the pool for every queued request (and asks
        # each socket whether it is still readable), so one pool of 64+ busy connections costs
        # more CPU than the request itself. Several small pools, taken in turn, keep that scan
        # short: measured 3-4x less gateway CPU per request at 64 concurrent requests.
        shards = max(1, math.ceil(max_connections / CONNECTIONS_PER_POOL))
        per_pool = math.ceil(max_connections / shards)
        self.clients = [
            httpx.AsyncClient(
                base_url=self.base_url,
                timeout=httpx.Timeout(
                    connect=connect_timeout,
                    read=read_timeout,
                    write=read_timeout,
                    pool=connect_timeout,
                ),
                limits=httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool),
                follow_redirects=False,
                trust_env=False,
                transport=transport,
            )
            for _ in range(shards)
        ]
        self._turn = itertools.cycle(self.clients)
        self.client = self.clients[0]
        # Event streams last as long as their clients watch: on the shared pools, a few hundred
        # open streams would take every connection and starve ordinary requests. They get
        # a client of their own, one connection each, unbounded in number (the watchers are).
        self.streams = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(
                connect=connect_timeout, read=read_timeout, write=read_timeout, pool=None
            ),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
            follow_redirects=False,
            trust_env=False,
            transport=transport,
        )

    async def forward(self, request: Request) -> Response:
        """Send `request` upstream; stream the answer back as it comes."""
        headers = [
            (name, value)
            for name, value in request.headers.raw
            if name.decode("latin-1").lower() not in HOP_BY_HOP | _REPLACED_UP
            and not _connection_listed(request, name)
        ]
        peer = request.client
        forwarded_for = request.headers.get("x-forwarded-for")
        address = peer.host if peer else ""
        headers += [
            (b"x-forwarded-for", f"{forwarded_for}, {address}".encode() if forwarded_for
             else address.encode()),
            (b"x-forwarded-proto", request.url.scheme.encode()),
            (b"x-forwarded-host", request.headers.get("host", "").encode("latin-1")),
        ]  # fmt: skip
        has_body = request.method not in ("GET", "HEAD", "OPTIONS", "DELETE") or (
            "content-length" in request.headers or "transfer-encoding" in request.headers
        )
        client = self.streams if is_event_stream(request) else next(self._turn)
        upstream_request = client.build_request(
            request.method,
            httpx.URL(path=request.url.path, query=request.url.query.encode("latin-1") or None),
            headers=headers,
            content=_body(request) if has_body else None,
        )
        try:
            answer = await client.send(upstream_request, stream=True)
        except httpx.TimeoutException as exc:
            log.warning("upstream_timeout", upstream=self.name, error=repr(exc))
            return self._problem(
                request,
                504,
                "upstream_timeout",
                "Upstream timeout",
                f"the {self.name} service did not answer in time",
            )
        except httpx.TransportError as exc:
            log.warning("upstream_unreachable", upstream=self.name, error=repr(exc))
            return self._problem(
                request,
                502,
                "upstream_unavailable",
                "Upstream unavailable",
                f"the {self.name} service is unreachable",
            )
        response_headers = [
            (name, value)
            for name, value in answer.headers.raw
            if name.decode("latin-1").lower() not in HOP_BY_HOP | _DROPPED_DOWN
        ]
        return _Relay(answer, response_headers)

    def _problem(
        self, request: Request, status: int, code: str, title: str, detail: str
    ) -> JSONResponse:
        return problem_response(
            request,
            status=status,
            code=code,
            title=title,
            detail=detail,
            extra={"upstream": self.name},
            headers={"Retry-After": RETRY_AFTER},
        )

    async def check(self) -> None:
        """The upstream's own readiness answers 200."""
        answer = await self.client.get("/health/ready")
        if answer.status_code != 200:
            raise ConnectionError(f"{self.name} /health/ready answered {answer.status_code}")

    async def close(self) -> None:
        for client in (*self.clients, self.streams):
            await client.aclose()


def is_event_stream(request: Request) -> bool:
    """GET /api/v1/events and GET /api/v1/operations/{id}/events: Server-Sent Events."""
    return request.method == "GET" and request.url.path.rstrip("/").endswith("/events")


def _connection_listed(request: Request, name: bytes) -> bool:
    """Headers named in Connection are hop-by-hop too (RFC 9110 7.6.1)."""
    listed = request.headers.get("connection")
    if not listed:
        return False
    return name.decode("latin-1").lower() in {h.strip().lower() for h in listed.split(",")}


async def _body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


class _Relay(StreamingResponse):
    """The upstream answer: its status and headers as they are, its body streamed raw (no
    decompression, so Content-Encoding stays true)."""

    def __init__(self, answer: httpx.Response, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(
            answer.aiter_raw(), status_code=answer.status_code, background=BackgroundTask(
                answer.aclose
            )
        )  # fmt: skip
        self.raw_headers = headers

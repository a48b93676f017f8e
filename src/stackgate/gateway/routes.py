"""The gateway's own endpoints: POST /api/billing, health, and the documented /api/v1 routes
that forward to the services behind it."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp

from stackgate import __version__
from stackgate.billing.messages import InvalidMessage, order_problems, parse_order
from stackgate.core.problem import problem_response, problem_responses
from stackgate.gateway.billing_publish import BillingPublisher
from stackgate.gateway.proxy import Upstream
from stackgate.gateway.ratelimit import RateLimiter
from stackgate.gateway.schemas import MessagePosted, Readiness, order_schema

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass
class Gateway:
    """What the routes reach through `request.app.state.gateway`."""

    publisher: BillingPublisher
    limiter: RateLimiter
    redis_configured: bool
    api: Upstream | None = None  # None: mounted in this process
    billing: Upstream | None = None
    mounted_api: ASGIApp | None = None
    mounted_billing: ASGIApp | None = None
    extra_checks: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


billing_router = APIRouter(tags=["billing"])

_BILLING_DOC: dict[str, Any] = {
    "summary": "Post an order to billing",
    "response_model": MessagePosted,
    "responses": {
        **problem_responses(400, 413, 422, 429),
        503: {
            "description": "RabbitMQ is unreachable or did not confirm in time (nothing was "
            "accepted; retry after Retry-After seconds)",
            "content": {"application/problem+json": {}},
        },
    },
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": order_schema()}},
        },
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Becomes the AMQP message id: billing stores a message id once, "
                "so a retried POST with the same key is never counted twice.",
                "schema": {"type": "string", "maxLength": 255},
            }
        ],
    },
}


async def post_billing(request: Request) -> MessagePosted | JSONResponse:
    """Validate an order and publish it, as sent, to the durable queue `billing_queue`.

    The body must be a JSON object with `user_id` (a non-empty string or an integer),
    `number_of_items` (a positive integer) and `total_amount` (a non-negative decimal with at
    most two places); numbers may be sent as numeric strings; any other field is refused. A 422
    names every broken rule and every unknown field at once (`errors`). A valid body is published
    unchanged as a persistent message (message id: the `Idempotency-Key` header, else a new
    UUID) with publisher confirms and `mandatory` set; the answer is 200 only after RabbitMQ
    confirmed it, so an accepted order is never lost, whether or not billing runs. Bad input
    answers 400/422 and publishes nothing; RabbitMQ unreachable answers 503 with Retry-After.
    """
    body = await request.body()
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return _refuse(request, 400, "malformed_json", "the request body is not valid JSON")
    if not isinstance(data, dict):
        return _refuse(request, 422, "validation_error", "the request body must be a JSON object")
    key = request.headers.get("idempotency-key")
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        return _refuse(
            request, 422, "validation_error", "Idempotency-Key must be 1-255 visible characters"
        )
    problems = order_problems(data, allow_unknown=False)
    if problems:
        return _refuse(
            request,
            422,
            "validation_error",
            "; ".join(reason for _, reason, _ in problems),
            errors=[
                {"loc": ["body", name], "msg": reason, "type": _ERROR_TYPES[kind]}
                for name, reason, kind in problems
            ],
        )
    message_id = key or str(uuid.uuid4())
    try:
        parse_order(body, message_id=message_id)
    except InvalidMessage as exc:
        return _refuse(request, 422, "validation_error", exc.reason)
    await _gateway(request).publisher.publish(body, message_id=message_id)
    return MessagePosted()


# The `type`s of pydantic's errors, as every other 422 of the API lists them.
_ERROR_TYPES = {"missing": "missing", "invalid": "value_error", "unknown": "extra_forbidden"}


def _refuse(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    return problem_response(
        request,
        status=status,
        code=code,
        title="Invalid order",
        detail=detail,
        extra={"errors": errors} if errors else None,
    )


for _path in ("/api/billing", "/api/billing/"):
    billing_router.add_api_route(
        _path,
        post_billing,
        methods=["POST"],
        operation_id="post_billing" + ("_slash" if _path.endswith("/") else ""),
        include_in_schema=not _path.endswith("/"),
        **_BILLING_DOC,
    )

health_router = APIRouter(tags=["health"])


@health_router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the gateway process answers (it checks nothing behind it)."""
    return {"status": "ok", "version": __version__}


async def _probe(name: str, check: Callable[[], Awaitable[None]]) -> dict[str, str]:
    try:
        await asyncio.wait_for(check(), 3.0)
    except Exception as exc:
        return {"name": name, "status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"name": name, "status": "up"}


async def _mounted_checks(app: ASGIApp) -> list[dict[str, str]]:
    """The readiness checks of an app mounted in this process (database, provider ...)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://in-process") as http:
        answer = await http.get("/health/ready")
    checks: list[dict[str, str]] = answer.json().get("checks", [])
    return checks


@health_router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"description": "A dependency is down.", "model": Readiness}},
)
async def ready(request: Request) -> JSONResponse:
    """Readiness: the control-plane API (its own readiness, or its database and provider when it
    runs in this process), the billing service when routed over HTTP, RabbitMQ when configured
    (POST /api/billing publishes there), and Redis when it keeps the rate limits."""
    gateway = _gateway(request)
    probes: list[Awaitable[dict[str, str]]] = []
    if gateway.api is not None:
        probes.append(_probe("api", gateway.api.check))
    if gateway.billing is not None:
        probes.append(_probe("billing", gateway.billing.check))
    if gateway.publisher.name == "broker":
        probes.append(_probe("broker", gateway.publisher.check))
    if gateway.redis_configured:
        probes.append(_probe("redis", gateway.limiter.check))
    probes += [_probe(name, check) for name, check in gateway.extra_checks.items()]
    checks = list(await asyncio.gather(*probes))
    if gateway.mounted_api is not None:
        checks = (await _mounted_checks(gateway.mounted_api)) + checks
    ok = all(c["status"] == "up" for c in checks)
    body = {"status": "ready" if ok else "unavailable", "checks": checks}
    headers = {} if ok else {"Retry-After": "5"}
    return JSONResponse(body, status_code=200 if ok else 503, headers=headers)


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_FORWARDED = problem_responses(413, 429)
_FORWARDED[502] = {
    "description": "The upstream service is unreachable (Retry-After set)",
    "content": {"application/problem+json": {}},
}
_FORWARDED[504] = {
    "description": "The upstream service did not answer in time (Retry-After set)",
    "content": {"application/problem+json": {}},
}


def forwarding_router(
    prefix: str, upstream: str, described: str, *, documented: bool = True
) -> APIRouter:
    """One catch-all route per method under `prefix`, forwarding to `upstream` (an attribute of
    Gateway: "api" or "billing"); `documented` puts them in the OpenAPI document (not when the
    upstream's own paths are there)."""
    router = APIRouter(tags=[upstream])

    async def forward(request: Request, path: str) -> Response:
        target: Upstream = getattr(_gateway(request), upstream)
        return await target.forward(request)

    for method in (*_METHODS, "HEAD", "OPTIONS"):
        router.add_api_route(
            f"{prefix}/{{path:path}}",
            forward,
            methods=[method],
            operation_id=f"forward_{upstream}_{method.lower()}",
            summary=f"{method} {prefix}/** -> {upstream}",
            description=f"{described} The method, path, query string, body and headers "
            "(Authorization, Idempotency-Key, Prefer, Content-Type, X-Request-ID) go through "
            "unchanged, and the answer (status, headers such as Location, Retry-After and "
            "X-Request-ID, and the body, streamed) comes back unchanged. An unreachable "
            "upstream answers 502, a slow one 504, both with Retry-After.",
            include_in_schema=documented and method in _METHODS,
            responses=_FORWARDED,
        )
    return router


API_DESCRIPTION = (
    "Routed to the control-plane API (`stackgate api`, STACKGATE_API_URL): servers, volumes, "
    "networks, ports, floating IPs, security groups, flavors, images, identity, quotas and the "
    "audit trail."
)
BILLING_DESCRIPTION = (
    "Routed to the billing service (`stackgate billing`, STACKGATE_BILLING_URL): orders and "
    "per-project usage, e.g. GET /api/v1/billing/orders and "
    "GET /api/v1/billing/projects/{id}/usage."
)

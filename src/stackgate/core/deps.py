"""Annotated dependency aliases shared by every router.

No `from __future__ import annotations` here: `page_params` builds its signature in a closure,
and FastAPI resolves string annotations against module globals only, so the closure's values
(the allowed sorts) would be unresolvable and break the OpenAPI document.
"""

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Protocol

from fastapi import Depends, Header, Query, Request
from fastapi.security import OAuth2PasswordBearer

from stackgate.core.context import RequestContext
from stackgate.core.errors import InvalidInput, NotFound, Unauthorized
from stackgate.core.pagination import MAX_PER_PAGE, PageRequest, Sort


class Authenticator(Protocol):
    async def authenticate(self, token: str, *, request_id: str | None) -> RequestContext: ...


# The scheme behind the /docs Authorize button: the OAuth2 password form at /api/v1/auth/token.
# Projects are not declared as scopes: Swagger UI shows declared scopes as a fixed list of
# checkboxes, the document is public, and projects differ per installation and per user. So
# /docs takes the project in its free-text client_id field; other OAuth2 clients may send the
# scope `project:<name>`.
PROJECT_SCOPE_PREFIX = "project:"
_bearer = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="Log in with your username and password. Member of several projects? Type the "
    "project's name (or id) in `client_id` and leave `client_secret` empty; with one project, "
    "leave both empty. (OAuth2 clients may send the scope `project:<name>` instead.)",
)


async def get_context(
    request: Request, token: Annotated[str | None, Depends(_bearer)]
) -> RequestContext:
    """The caller, from the bearer token (401 without a valid one)."""
    if not token:
        raise Unauthorized(
            "send a bearer token: Authorization: Bearer <token> "
            "(POST /api/v1/auth/tokens issues one)"
        )
    auth: Authenticator = request.app.state.container.auth
    ctx = await auth.authenticate(token, request_id=getattr(request.state, "request_id", None))
    request.state.context = ctx  # for the audit trail
    return ctx


ContextDep = Annotated[RequestContext, Depends(get_context)]

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


async def cloud_available(request: Request) -> None:
    """Requests that queue cloud work answer 503 + Retry-After while the provider's circuit
    breaker is open (reads are answered from the database and go on)."""
    if request.method not in _READS:
        await request.app.state.container.cloud_guard.ensure_available()


def page_params(allowed: list[str], default: str) -> Callable[..., Awaitable[PageRequest]]:
    """A dependency reading sort, page/per_page or limit/cursor for one resource's list."""
    # Documented as an enum so clients see the choices; Sort.parse still answers the friendly
    # 400 invalid_sort naming them.
    sorts = [value for name in allowed for value in (name, f"-{name}")]

    async def dependency(
        sort: Annotated[
            str,
            Query(
                max_length=64,
                description=f"One of {', '.join(allowed)}; prefix - for descending.",
                json_schema_extra={"enum": sorts},
            ),
        ] = default,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
        limit: Annotated[
            int | None, Query(ge=1, le=MAX_PER_PAGE, description="Keyset page size.")
        ] = None,
        cursor: Annotated[
            str | None, Query(max_length=1024, description="Opaque next_cursor.")
        ] = None,
    ) -> PageRequest:
        return PageRequest(
            sort=Sort.parse(sort, allowed), page=page, per_page=per_page, limit=limit, cursor=cursor
        )

    return dependency


# 1-255 printable ASCII characters (a structured-field string's alphabet), no outer spaces.
_IDEMPOTENCY_KEY = re.compile(r"[!-~](?:[ -~]{0,253}[!-~])?")


async def _idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Repeat a create safely: the same key returns the same answer.",
            max_length=300,
            # Documented here, checked below, so a bad key is the friendlier 400 naming the field.
            json_schema_extra={"pattern": f"^{_IDEMPOTENCY_KEY.pattern}$"},
        ),
    ] = None,
) -> str | None:
    if idempotency_key is None:
        return None
    key = idempotency_key.strip()
    # The header is a structured-field string ("..."); bare tokens are accepted too.
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidInput(
            "Idempotency-Key must be 1-255 printable ASCII characters", field="Idempotency-Key"
        )
    return key


IdempotencyKeyDep = Annotated[str | None, Depends(_idempotency_key)]


async def _prefer_wait(
    prefer: Annotated[
        str | None,
        Header(
            description="`wait=N`: wait up to N seconds for the end state (RFC 7240).",
            max_length=256,
        ),
    ] = None,
) -> float:
    if not prefer:
        return 0.0
    for part in prefer.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "wait":
            try:
                seconds = float(value.strip().strip('"'))
            except ValueError:
                return 0.0
            return max(0.0, seconds)
    return 0.0


PreferWaitDep = Annotated[float, Depends(_prefer_wait)]


_KINDS = {
    "vms": "server",
    "flavors": "flavor",
    "images": "image",
    "projects": "project",
    "users": "user",
    "application-credentials": "application credential",
}


async def refuse_nul(request: Request) -> None:
    """No stored string holds NUL (PostgreSQL cannot even compare one), so a NUL in the URL
    never reaches the database: a path parameter names nothing (404), a query parameter is bad
    input (400). Installed app-wide in create_app."""
    for value in request.path_params.values():
        if "\x00" in str(value):
            segment = request.url.path.split("/")[3:4] or ["resource"]
            raise NotFound(_KINDS.get(segment[0], "resource"), str(value))
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise InvalidInput(f"{name}: must not contain NUL characters", field=name)


def policy_doc(rule: str) -> dict[str, object]:
    """A route's `openapi_extra`: the identity.policy rule its service enforces, published in
    the OpenAPI document (the policy-matrix tests check every route declares one)."""
    return {"x-policy": rule}

"""The app's route table as the policy matrix reads it: every /api/v1 route with the policy rule
it declares (`x-policy` in its openapi_extra)."""

from __future__ import annotations

import functools
from typing import Any

import fastapi.routing
from fastapi.routing import APIRoute
from tests.conftest import make_settings

from stackgate.app import create_app

PUBLIC = "public"


@functools.cache
def api_routes() -> tuple[tuple[str, str, str | None], ...]:
    """(method, path template, declared policy) of every /api/v1 route of the app (read once:
    the matrix's tests per collection all ask for it).

    app.routes holds the included routers; FastAPI's iter_route_contexts flattens them into
    the APIRoutes requests are matched against (a plain list on FastAPI versions without it).
    """
    app = create_app(make_settings("sqlite+aiosqlite://"))
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    contexts: list[Any] = list(flatten(app.routes) if flatten else app.routes)
    found = []
    for context in contexts:
        route = getattr(context, "original_route", context)
        if not isinstance(route, APIRoute) or not context.path.startswith("/api/v1"):
            continue
        policy = (context.openapi_extra or {}).get("x-policy")
        for method in sorted(context.methods):
            found.append((method, context.path, policy))
    assert len(found) >= 40, f"the route table looks truncated: {found}"
    return tuple(found)


def resource(path: str) -> str:
    """The collection a route belongs to: /api/v1/<resource>/..."""
    return path.removeprefix("/api/v1/").split("/")[0]

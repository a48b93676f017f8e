"""The one place errors become HTTP: RFC 9457 application/problem+json with a stable code."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from stackgate.core.errors import Category, RateLimited, ServiceUnavailable, StackGateError

log = structlog.get_logger("stackgate.errors")

STATUS: dict[Category, int] = {
    Category.INVALID: 400,
    Category.UNAUTHORIZED: 401,
    Category.FORBIDDEN: 403,
    Category.NOT_FOUND: 404,
    Category.CONFLICT: 409,
    Category.UNPROCESSABLE: 422,
    Category.RATE_LIMITED: 429,
    Category.UNAVAILABLE: 503,
}
MEDIA_TYPE = "application/problem+json"
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="A URI naming the problem type.")
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable code, e.g. invalid_state_transition.")
    request_id: str | None = None


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://stackgate.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": _request_id(request),
    }
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    all_headers = dict(headers or {})
    if body["request_id"]:
        all_headers["X-Request-ID"] = body["request_id"]
    return JSONResponse(body, status_code=status, headers=all_headers, media_type=MEDIA_TYPE)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StackGateError)
    status = STATUS[exc.category]
    headers = {}
    if isinstance(exc, ServiceUnavailable | RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.category is Category.UNAUTHORIZED:
        headers["WWW-Authenticate"] = 'Bearer realm="stackgate"'
        if "reason" in exc.extra:
            headers["WWW-Authenticate"] += ', error="invalid_token"'
    return problem_response(
        request,
        status=status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        extra=exc.extra,
        headers=headers,
    )


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    cleaned = []
    for err in errors:
        cleaned.append(
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return cleaned


def _not_json(request: Request, exc: RequestValidationError) -> JSONResponse | None:
    """415 for a body sent as something other than JSON (`curl -d` sends a form). FastAPI hands
    such a body to validation as raw bytes (it reads JSON only with a JSON content type: its
    `strict_content_type`), which would answer "Input should be a valid dictionary" without a
    word on the content type. Nova answers 415 "Unsupported Content-Type" here too
    (nova/api/openstack/wsgi.py, InvalidContentType), as RFC 9110 15.5.16 says; Accept-Post or
    Accept-Patch names the type the route takes (RFC 5789 3.1)."""
    raw_body = any(
        err.get("loc", ())[:1] == ("body",) and isinstance(err.get("input"), bytes | bytearray)
        for err in exc.errors()
    )
    if not raw_body:
        return None
    sent = request.headers.get("content-type", "")
    headers = {}
    if request.method in ("POST", "PATCH"):
        headers[f"Accept-{request.method.capitalize()}"] = "application/json"
    return problem_response(
        request,
        status=415,
        code="unsupported_media_type",
        title="Unsupported media type",
        detail="the request body must be JSON sent with 'Content-Type: application/json' "
        f"(this one was sent {f'as {sent!r}' if sent else 'without a Content-Type header'})",
        extra={"content_type": sent, "expected": "application/json"},
        headers=headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if (unsupported := _not_json(request, exc)) is not None:
        return unsupported
    errors = _clean_errors(exc.errors())
    if any(e["type"] == "json_invalid" for e in errors):
        return problem_response(
            request,
            status=400,
            code="malformed_json",
            title="Malformed JSON",
            detail="the request body is not valid JSON",
            extra={"errors": errors},
        )
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(p for p in first["loc"] if p not in ("body", "query", "path", "header"))
    detail = f"{where}: {first['msg']}" if where else str(first["msg"])
    return problem_response(
        request,
        status=422,
        code="validation_error",
        title="Invalid request",
        detail=detail,
        extra={"errors": errors},
    )


def _allowed_methods(request: Request) -> str:
    """Every method the path answers (RFC 9110 15.5.6). Starlette's 405 names only the methods
    of the first route matching the path, while each method of a path is a route of its own."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and (allowed := _allowed_methods(request)):
        headers["Allow"] = allowed
    return problem_response(
        request,
        status=exc.status_code,
        code=code,
        title=code.replace("_", " ").capitalize(),
        detail=detail,
        headers=headers,
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", error=repr(exc))
    return problem_response(
        request,
        status=500,
        code="internal_error",
        title="Internal server error",
        detail="an unexpected error occurred; quote the request id when reporting it",
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StackGateError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the problems a route may answer."""
    return {
        status: {
            "model": Problem,
            "description": _HTTP_CODES.get(status, "error"),
            "content": {MEDIA_TYPE: {}},
        }
        for status in statuses
    }

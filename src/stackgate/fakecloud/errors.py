"""Error bodies exactly as each OpenStack service writes them, and the one exception that
carries them out of a route.

Nova and Cinder: `{"<faultName>": {"code", "message"}}`; Neutron: `{"NeutronError": {"type",
"message", "detail"}}`; Keystone (and keystonemiddleware's 401 everywhere): `{"error": {"code",
"title", "message"}}`; Glance: a plain text/HTML body in its webob style, sent here as JSON
`{"code", "title", "message"}` under "error" as newer Glance does.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from stackgate.providers.base import (
    ProviderBadRequest,
    ProviderConflict,
    ProviderError,
    ProviderNotFound,
    ProviderUnavailable,
)

# nova/api/openstack/wsgi.py (Fault) and cinder's copy of it.
_NOVA_FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
# Which service answers under which path prefix (the catalog's endpoints, app.py).
SERVICE_PREFIXES = {
    "/compute": "nova",
    "/volume": "cinder",
    "/networking": "neutron",
    "/image": "glance",
}


class CloudError(Exception):
    """A refusal in a service's own words; `FakeCloudApp` renders it."""

    def __init__(
        self,
        service: str,
        status: int,
        message: str,
        *,
        neutron_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.service = service
        self.status = status
        self.message = message
        self.neutron_type = neutron_type
        self.headers = headers or {}


def body_for(service: str, status: int, message: str, neutron_type: str | None = None) -> Any:
    """The JSON error body `service` sends for `status`."""
    if service in ("nova", "cinder"):
        name = _NOVA_FAULT_NAMES.get(status, "computeFault")
        return {name: {"code": status, "message": message}}
    if service == "neutron":
        kind = neutron_type or {
            400: "BadRequest",
            403: "PolicyNotAuthorized",
            404: "NotFound",
            409: "Conflict",
            503: "ServiceUnavailable",
        }.get(status, "NeutronError")
        return {"NeutronError": {"type": kind, "message": message, "detail": ""}}
    return {"error": {"code": status, "title": _TITLES.get(status, "Error"), "message": message}}


def render(exc: CloudError) -> Response:
    headers = dict(exc.headers)
    if exc.status == 503:
        headers.setdefault("Retry-After", "1")
    return JSONResponse(
        body_for(exc.service, exc.status, exc.message, exc.neutron_type),
        status_code=exc.status,
        headers=headers,
    )


def service_of(path: str) -> str:
    for prefix, service in SERVICE_PREFIXES.items():
        if path.startswith(prefix):
            return service
    return "keystone"


def from_provider(
    service: str, exc: ProviderError, *, neutron_type: str | None = None
) -> CloudError:
    """A simulator refusal as `service` answers it: the simulator already words its messages
    as the real service does; the status follows the exception class."""
    if isinstance(exc, ProviderNotFound):
        status = 404
    elif isinstance(exc, ProviderConflict):
        status = exc.status_code if exc.status_code in (409, 413) else 409
    elif isinstance(exc, ProviderBadRequest):
        status = exc.status_code if exc.status_code in (400, 413) else 400
    elif isinstance(exc, ProviderUnavailable):
        status = 503
    else:
        status = exc.status_code if exc.status_code and exc.status_code >= 400 else 500
    return CloudError(service, status, exc.message, neutron_type=neutron_type)


async def cloud_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CloudError)
    return render(exc)


async def provider_error_handler(request: Request, exc: Exception) -> Response:
    """A simulator error no route translated: the status its class implies."""
    assert isinstance(exc, ProviderError)
    return render(from_provider(service_of(request.url.path), exc))


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    """OpenStack services answer a malformed body with 400, never 422."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    message = f"Invalid input for field/attribute {where}: {first.get('msg', 'invalid')}"
    return render(CloudError(service_of(request.url.path), 400, message))


def unauthorized(service: str = "keystone") -> CloudError:
    # keystonemiddleware answers every service's 401 in Keystone's format.
    return CloudError(
        "keystone",
        401,
        "The request you have made requires authentication.",
        headers={"WWW-Authenticate": 'Keystone uri="/v3"'},
    )

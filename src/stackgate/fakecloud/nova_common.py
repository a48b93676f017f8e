"""What every Nova route shares: the microversion of the request, the request id, and the
headers Nova puts on every answer (nova/api/openstack/wsgi.py, api_version_request.py,
nova/api/openstack/requestlog.py and oslo.middleware's request_id)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from stackgate.fakecloud.errors import (
    CloudError,
    from_provider,
    render,
    validation_error_handler,
)
from stackgate.providers.base import ProviderError

MIN_VERSION = (2, 1)
# The newest microversion the fake answers in: openstacksdk's Server supports up to 2.100, and
# every field the SDK and OSC read is shaped by the rules below up to this one.
MAX_VERSION = (2, 96)
_HEADER = re.compile(r"^\s*(\d+)\.(\d+)\s*$")


def version_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def requested_version(request: Request) -> tuple[int, int]:
    """The microversion asked for (`OpenStack-API-Version: compute X` first, then the legacy
    `X-OpenStack-Nova-API-Version`); 2.1 when none, the newest for "latest"; 406 outside."""
    wanted: str | None = None
    for item in request.headers.get("OpenStack-API-Version", "").split(","):
        service, _, value = item.strip().partition(" ")
        if service.lower() == "compute" and value:
            wanted = value.strip()
    if wanted is None:
        wanted = request.headers.get("X-OpenStack-Nova-API-Version")
    if not wanted:
        return MIN_VERSION
    if wanted.lower() == "latest":
        return MAX_VERSION
    match = _HEADER.match(wanted)
    if match is None:
        raise CloudError(
            "nova",
            400,
            f"API version string {wanted} format is invalid. Must be of format MajorNum.MinorNum.",
        )
    version = (int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise CloudError(
            "nova",
            406,
            f"Version {wanted} is not supported by the API. Minimum is "
            f"{version_text(MIN_VERSION)} and maximum is {version_text(MAX_VERSION)}.",
        )
    return version


def microversion(request: Request) -> tuple[int, int]:
    version: tuple[int, int] = getattr(request.state, "microversion", MIN_VERSION)
    return version


def request_id(request: Request) -> str:
    rid: str = getattr(request.state, "request_id", "")
    return rid


class NovaRoute(APIRoute):
    """Every Nova answer, errors included, carries the request id and the microversion used;
    refusals are rendered here so that they carry them too."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            rid = f"req-{uuid.uuid4()}"
            request.state.request_id = rid
            version = MIN_VERSION
            try:
                version = requested_version(request)
                request.state.microversion = version
                response = await handler(request)
            except CloudError as exc:
                response = render(exc)
            except ProviderError as exc:
                response = render(from_provider("nova", exc))
            except RequestValidationError as exc:
                response = await validation_error_handler(request, exc)
            text = version_text(version)
            response.headers["x-openstack-request-id"] = rid
            response.headers["X-Compute-Request-Id"] = rid
            response.headers["OpenStack-API-Version"] = f"compute {text}"
            response.headers["X-OpenStack-Nova-API-Version"] = text
            response.headers["Vary"] = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
            return response

        return route


def iso(moment: datetime | None) -> str | None:
    """Nova's timestamps: `2026-01-01T00:00:00Z` (created/updated)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_usec(moment: datetime | None) -> str | None:
    """OS-SRV-USG and instance-action timestamps: microseconds, no zone."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def links(root: str, kind: str, item_id: str) -> list[dict[str, str]]:
    return [
        {"rel": "self", "href": f"{root}/compute/v2.1/{kind}/{item_id}"},
        {"rel": "bookmark", "href": f"{root}/compute/{kind}/{item_id}"},
    ]


def not_found(message: str) -> CloudError:
    return CloudError("nova", 404, message)


def bad_request(message: str) -> CloudError:
    return CloudError("nova", 400, message)


def ref_id(ref: Any) -> str:
    """flavorRef / imageRef may be an id or a URL ending in one."""
    return str(ref).rstrip("/").rsplit("/", 1)[-1]

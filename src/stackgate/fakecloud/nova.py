"""Nova v2.1 over the simulator, at /compute (DevStack's layout).

Version discovery answers as nova/api/openstack/compute/versions.py does: the root lists v2.0
and v2.1 (200), /v2.1/ describes v2.1 with its microversion range ("version" is the newest,
"min_version" the oldest), both without a token. The routes live in the nova_* modules.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from stackgate.fakecloud import (
    nova_actions,
    nova_flavors,
    nova_log,
    nova_quotas,
    nova_servers,
    nova_volumes,
)
from stackgate.fakecloud.auth import base_url
from stackgate.fakecloud.nova_common import MAX_VERSION, MIN_VERSION, version_text

router = APIRouter(tags=["nova"])


def _v21(request: Request) -> dict[str, Any]:
    root = base_url(request)
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": version_text(MAX_VERSION),
        "min_version": version_text(MIN_VERSION),
        "updated": "2013-07-23T11:33:21Z",
        "links": [
            {"rel": "self", "href": f"{root}/compute/v2.1/"},
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
        ],
        "media-types": [
            {
                "base": "application/json",
                "type": "application/vnd.openstack.compute+json;version=2.1",
            }
        ],
    }


@router.get("/", include_in_schema=False)
@router.get("", include_in_schema=False)
async def versions(request: Request) -> dict[str, Any]:
    v2 = {
        "id": "v2.0",
        "status": "SUPPORTED",
        "version": "",
        "min_version": "",
        "updated": "2011-01-21T11:33:21Z",
        "links": [{"rel": "self", "href": f"{base_url(request)}/compute/v2/"}],
    }
    v21 = {k: v for k, v in _v21(request).items() if k != "media-types"}
    v21["links"] = v21["links"][:1]
    return {"versions": [v2, v21]}


@router.get("/v2.1", include_in_schema=False)
@router.get("/v2.1/", include_in_schema=False)
async def version(request: Request) -> dict[str, Any]:
    return {"version": _v21(request)}


for _module in (nova_flavors, nova_servers, nova_actions, nova_log, nova_quotas, nova_volumes):
    router.include_router(_module.router)

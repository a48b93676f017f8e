"""Cinder v3 over the simulator, at `/volume` (DevStack's layout; the catalog says
`<root>/volume/v3`): version discovery, volumes, snapshots, types, quotas and limits.

Every v3 route answers both with and without the project id in the path
(`/v3/{project_id}/volumes` and `/v3/volumes`), as Cinder does since Yoga."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stackgate.fakecloud.auth import base_url
from stackgate.fakecloud.cinder_common import MAX_VERSION, MIN_VERSION
from stackgate.fakecloud.cinder_quotas import router as quotas
from stackgate.fakecloud.cinder_snapshots import router as snapshots
from stackgate.fakecloud.cinder_types import router as types
from stackgate.fakecloud.cinder_volumes import router as volumes

# cinder/api/openstack/api_version_request.py UPDATED.
_UPDATED = "2023-08-31T00:00:00Z"

v3 = APIRouter()
for part in (volumes, snapshots, types, quotas):
    v3.include_router(part)

router = APIRouter(tags=["cinder"])


def _versions(request: Request) -> dict[str, Any]:
    """cinder/api/versions.py _KNOWN_VERSIONS as cinder/api/views/versions.py builds it."""
    return {
        "versions": [
            {
                "id": "v3.0",
                "status": "CURRENT",
                "version": f"{MAX_VERSION[0]}.{MAX_VERSION[1]}",
                "min_version": f"{MIN_VERSION[0]}.{MIN_VERSION[1]}",
                "updated": _UPDATED,
                "links": [
                    {
                        "rel": "describedby",
                        "type": "text/html",
                        "href": "https://docs.openstack.org/",
                    },
                    {"rel": "self", "href": f"{base_url(request)}/volume/v3/"},
                ],
                "media-types": [
                    {
                        "base": "application/json",
                        "type": "application/vnd.openstack.volume+json;version=3",
                    }
                ],
            }
        ]
    }


@router.get("/", include_in_schema=False)
async def all_versions(request: Request) -> JSONResponse:
    """The unversioned root: 300 Multiple Choices (VersionsController.all)."""
    return JSONResponse(_versions(request), status_code=300)


@router.get("/v3", include_in_schema=False)
@router.get("/v3/", include_in_schema=False)
async def v3_root(request: Request) -> JSONResponse:
    """The versioned root (VersionsController.index): the same document, 200."""
    return JSONResponse(_versions(request))


# Without the project id first: `/v3/volumes/detail` must not read as project "volumes".
router.include_router(v3, prefix="/v3")
router.include_router(v3, prefix="/v3/{project_id}")

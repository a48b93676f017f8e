"""Keystone v3 (at /v3): version discovery, password and token auth with project scope, the
service catalog, and the few project, user, role and assignment calls a provider needs.

Shapes and codes follow keystone/api/auth.py and keystone/api/projects.py: token in
`X-Subject-Token`, 201 on issue, 401 `{"error": ...}` for bad credentials or a scope without a
role, 409 for a duplicate project name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse

from stackgate.fakecloud import auth, keystone_directory
from stackgate.fakecloud.auth import CloudDep, base_url
from stackgate.fakecloud.cloud import (
    DOMAIN_ID,
    DOMAIN_NAME,
    REGION,
    FakeCloud,
    fixed_id,
    role_id,
)
from stackgate.fakecloud.errors import CloudError, unauthorized
from stackgate.fakecloud.keystone_directory import all_projects, roles_on

router = APIRouter(tags=["identity"])
router.include_router(keystone_directory.router)

# (service type, name, path under the fake's root): DevStack's layout on one port.
CATALOG = (
    ("identity", "keystone", "/v3"),
    ("compute", "nova", "/compute/v2.1"),
    ("image", "glance", "/image"),
    ("network", "neutron", "/networking"),
    ("block-storage", "cinder", "/volume/v3"),
    ("volumev3", "cinderv3", "/volume/v3"),
)
_UPDATED = "2026-01-01T00:00:00Z"
_MEDIA = [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def _version(request: Request) -> dict[str, Any]:
    return {
        "id": "v3.14",
        "status": "stable",
        "updated": _UPDATED,
        "links": [{"rel": "self", "href": f"{base_url(request)}/v3/"}],
        "media-types": _MEDIA,
    }


@router.get("/", include_in_schema=False)
async def versions(request: Request) -> JSONResponse:
    """Keystone's root: 300 Multiple Choices with the one version it serves."""
    return JSONResponse({"versions": {"values": [_version(request)]}}, status_code=300)


@router.get("/v3")
@router.get("/v3/")
async def version(request: Request) -> dict[str, Any]:
    return {"version": _version(request)}


def catalog(request: Request) -> list[dict[str, Any]]:
    root = base_url(request)
    return [
        {
            "id": fixed_id("service", kind),
            "type": kind,
            "name": name,
            "endpoints": [
                {
                    "id": fixed_id("endpoint", f"{kind}/{interface}"),
                    "interface": interface,
                    "region": REGION,
                    "region_id": REGION,
                    "url": root + path,
                }
                for interface in ("public", "internal", "admin")
            ],
        }
        for kind, name, path in CATALOG
    ]


# --- tokens --------------------------------------------------------------------------------


def _token_body(request: Request, caller: auth.Caller, *, with_catalog: bool) -> dict[str, Any]:
    domain = {"id": DOMAIN_ID, "name": DOMAIN_NAME}
    token: dict[str, Any] = {
        "methods": list(caller.methods),
        "user": {
            "id": caller.user_id,
            "name": caller.user_name,
            "domain": domain,
            "password_expires_at": None,
        },
        "audit_ids": [caller.audit_id],
        "expires_at": _iso(caller.expires_at),
        "issued_at": _iso(caller.issued_at),
    }
    if caller.project_id is not None:
        token["project"] = {"id": caller.project_id, "name": caller.project_name, "domain": domain}
        token["is_domain"] = False
        token["roles"] = [{"id": role_id(r), "name": r} for r in caller.roles]
        if with_catalog:
            token["catalog"] = catalog(request)
    return {"token": token}


def _obj(value: Any) -> dict[str, Any]:
    """A JSON object of the request, or empty where the client sent anything else (Keystone
    then refuses the credentials or the scope instead of failing)."""
    return value if isinstance(value, dict) else {}


def _user_from_identity(cloud: FakeCloud, identity: dict[str, Any]) -> tuple[str, str, str]:
    """(user id, user name, method) of a password or token identity, else 401."""
    methods = identity.get("methods")
    methods = methods if isinstance(methods, list) else []
    if "password" in methods:
        user = _obj(_obj(identity.get("password")).get("user"))
        found = (
            cloud.users.get(str(user["id"]))
            if user.get("id")
            else cloud.user_by_name(str(user.get("name", "")))
        )
        domain = _obj(user.get("domain"))
        domain_ok = (
            user.get("id") or domain.get("id") == DOMAIN_ID or (domain.get("name") == DOMAIN_NAME)
        )
        if found is None or not domain_ok or user.get("password") != cloud.admin_password:
            raise unauthorized()
        return found.id, found.name, "password"
    if "token" in methods:
        caller = auth.verify(cloud, str(_obj(identity.get("token")).get("id") or ""))
        if caller is None:
            raise unauthorized()
        return caller.user_id, caller.user_name, "token"
    raise unauthorized()


async def _scope(cloud: FakeCloud, scope: dict[str, Any]) -> tuple[str, str] | None:
    if not isinstance(scope, dict):
        raise CloudError("keystone", 400, "Invalid input for field 'scope'.")
    if not scope.get("project"):
        return None
    project = _obj(scope["project"])
    projects = await all_projects(cloud)
    if project.get("id"):
        found = next((p for p in projects if p["id"] == project["id"]), None)
    else:
        domain = _obj(project.get("domain"))
        if domain and domain.get("id") != DOMAIN_ID and domain.get("name") != DOMAIN_NAME:
            raise unauthorized()
        found = next((p for p in projects if p["name"] == project.get("name")), None)
    if found is None or not found["enabled"]:
        raise unauthorized()
    return found["id"], found["name"]


@router.post("/v3/auth/tokens", status_code=201)
async def issue_token(
    request: Request, cloud: CloudDep, body: dict[str, Any] = Body(...)
) -> JSONResponse:
    """Password or token auth, optionally scoped to a project (by id, or name and domain)."""
    auth_body = body.get("auth") if isinstance(body, dict) else None
    if not isinstance(auth_body, dict) or not isinstance(auth_body.get("identity"), dict):
        raise CloudError("keystone", 400, "Expecting to find identity in auth.")
    user_id, user_name, method = _user_from_identity(cloud, auth_body["identity"])
    scoped = await _scope(cloud, auth_body.get("scope") or {})
    roles: tuple[str, ...] = ()
    if scoped is not None:
        roles = await roles_on(cloud, user_id, scoped[0])
        if not roles:
            raise unauthorized()
    token, caller = auth.issue(
        cloud,
        user_id=user_id,
        user_name=user_name,
        project_id=scoped[0] if scoped else None,
        project_name=scoped[1] if scoped else None,
        roles=roles,
        methods=(method,),
    )
    with_catalog = "nocatalog" not in request.query_params
    return JSONResponse(
        _token_body(request, caller, with_catalog=with_catalog),
        status_code=201,
        headers={"X-Subject-Token": token},
    )


@router.get("/v3/auth/tokens")
async def validate_token(request: Request, cloud: CloudDep) -> JSONResponse:
    if auth.verify(cloud, request.headers.get("X-Auth-Token")) is None:
        raise unauthorized()
    subject = auth.verify(cloud, request.headers.get("X-Subject-Token"))
    if subject is None:
        raise CloudError("keystone", 404, "Could not find token.")
    return JSONResponse(
        _token_body(request, subject, with_catalog="nocatalog" not in request.query_params),
        headers={"X-Subject-Token": subject.token},
    )


@router.delete("/v3/auth/tokens", status_code=204)
async def revoke_token(request: Request, cloud: CloudDep) -> Response:
    if auth.verify(cloud, request.headers.get("X-Auth-Token")) is None:
        raise unauthorized()
    subject = request.headers.get("X-Subject-Token", "")
    if auth.verify(cloud, subject) is None:
        raise CloudError("keystone", 404, "Could not find token.")
    cloud.revoked.add(subject)
    return Response(status_code=204)

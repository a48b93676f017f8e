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
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.fakecloud import auth
from stackgate.fakecloud.auth import CloudDep, base_url
from stackgate.fakecloud.cloud import (
    DOMAIN_ID,
    DOMAIN_NAME,
    IMPLIED,
    REGION,
    ROLES,
    FakeCloud,
    fixed_id,
    role_id,
)
from stackgate.fakecloud.errors import CloudError, unauthorized
from stackgate.providers.simulator.tables import SimProject, SimRoleAssignment

router = APIRouter(tags=["identity"])

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


# --- projects and assignments -------------------------------------------------------------


async def _projects(cloud: FakeCloud, session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.scalars(select(SimProject))).all()
    seeded = [
        {"id": pid, "name": name, "description": "", "enabled": True}
        for name, pid in cloud.seeded_projects.items()
    ]
    made = [
        {"id": r.id, "name": r.name, "description": r.description, "enabled": r.enabled}
        for r in rows
    ]
    return seeded + made


def project_body(request: Request, p: dict[str, Any]) -> dict[str, Any]:
    return {
        **p,
        "domain_id": DOMAIN_ID,
        "parent_id": DOMAIN_ID,
        "is_domain": False,
        "tags": [],
        "options": {},
        "links": {"self": f"{base_url(request)}/v3/projects/{p['id']}"},
    }


async def all_projects(cloud: FakeCloud) -> list[dict[str, Any]]:
    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        return await _projects(cloud, session)

    return await cloud.sim.store.run(work)


async def roles_on(cloud: FakeCloud, user_id: str, project_id: str) -> tuple[str, ...]:
    """The user's roles on a project, implied roles included; empty when it has none."""
    user = cloud.users.get(user_id)
    names: set[str] = set()
    project_names = {pid: name for name, pid in cloud.seeded_projects.items()}
    if user is not None and project_id in project_names:
        for u, p, r in cloud.seeded_grants:
            if u == user.name and p == project_names[project_id]:
                names.add(r)

    async def work(session: AsyncSession) -> list[str]:
        stmt = select(SimRoleAssignment.role_id).where(
            SimRoleAssignment.user_id == user_id, SimRoleAssignment.project_id == project_id
        )
        return list((await session.scalars(stmt)).all())

    by_id = {role_id(n): n for n in ROLES}
    names.update(by_id[r] for r in await cloud.sim.store.run(work) if r in by_id)
    expanded = {implied for n in names for implied in IMPLIED[n]}
    return tuple(sorted(expanded))


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


def _user_from_identity(cloud: FakeCloud, identity: dict[str, Any]) -> tuple[str, str, str]:
    """(user id, user name, method) of a password or token identity, else 401."""
    methods = identity.get("methods") or []
    if "password" in methods:
        user = (identity.get("password") or {}).get("user") or {}
        found = (
            cloud.users.get(user["id"])
            if user.get("id")
            else cloud.user_by_name(str(user.get("name", "")))
        )
        domain = user.get("domain") or {}
        domain_ok = (
            user.get("id") or domain.get("id") == DOMAIN_ID or (domain.get("name") == DOMAIN_NAME)
        )
        if found is None or not domain_ok or user.get("password") != cloud.admin_password:
            raise unauthorized()
        return found.id, found.name, "password"
    if "token" in methods:
        caller = auth.verify(cloud, ((identity.get("token") or {}).get("id")))
        if caller is None:
            raise unauthorized()
        return caller.user_id, caller.user_name, "token"
    raise unauthorized()


async def _scope(cloud: FakeCloud, scope: dict[str, Any]) -> tuple[str, str] | None:
    project = scope.get("project")
    if not project:
        return None
    projects = await all_projects(cloud)
    if project.get("id"):
        found = next((p for p in projects if p["id"] == project["id"]), None)
    else:
        domain = project.get("domain") or {}
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


def _any_caller(request: Request) -> auth.Caller:
    caller = auth.verify(request.app.state.cloud, request.headers.get("X-Auth-Token"))
    if caller is None:
        raise unauthorized()
    return caller


def _admin(request: Request) -> auth.Caller:
    caller = _any_caller(request)
    if not caller.is_admin:
        raise CloudError("keystone", 403, "You are not authorized to perform the requested action.")
    return caller


@router.get("/v3/auth/projects")
async def my_projects(request: Request, cloud: CloudDep) -> dict[str, Any]:
    caller = _any_caller(request)
    mine = [
        project_body(request, p)
        for p in await all_projects(cloud)
        if await roles_on(cloud, caller.user_id, p["id"])
    ]
    return {"projects": mine, "links": {"self": None, "next": None, "previous": None}}


@router.get("/v3/projects")
async def list_projects(request: Request, cloud: CloudDep) -> dict[str, Any]:
    _admin(request)
    name = request.query_params.get("name")
    found = [
        project_body(request, p)
        for p in await all_projects(cloud)
        if name is None or p["name"] == name
    ]
    return {"projects": found, "links": {"self": None, "next": None, "previous": None}}


@router.get("/v3/projects/{project_id}")
async def get_project(project_id: str, request: Request, cloud: CloudDep) -> dict[str, Any]:
    caller = _any_caller(request)
    if not caller.is_admin and caller.project_id != project_id:
        raise CloudError("keystone", 403, "You are not authorized to perform the requested action.")
    found = next((p for p in await all_projects(cloud) if p["id"] == project_id), None)
    if found is None:
        raise CloudError("keystone", 404, f"Could not find project: {project_id}.")
    return {"project": project_body(request, found)}


@router.post("/v3/projects", status_code=201)
async def create_project(
    request: Request, cloud: CloudDep, body: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    _admin(request)
    project = body.get("project") if isinstance(body, dict) else None
    name = project.get("name") if isinstance(project, dict) else None
    if not isinstance(name, str) or not name or len(name) > 64:
        raise CloudError("keystone", 400, "Invalid input for field 'name'.")
    assert isinstance(project, dict)
    if project.get("domain_id", DOMAIN_ID) != DOMAIN_ID:
        raise CloudError("keystone", 400, "Only the Default domain exists here.")

    async def work(session: AsyncSession) -> dict[str, Any]:
        if any(p["name"] == name for p in await _projects(cloud, session)):
            raise CloudError(
                "keystone", 409, f"Conflict occurred attempting to store project - {name}."
            )
        row = SimProject(
            id=fixed_id("project", name),
            name=name,
            domain_id=DOMAIN_ID,
            description=str(project.get("description") or ""),
            enabled=bool(project.get("enabled", True)),
            created_at=datetime.now(UTC),
        )
        session.add(row)
        return {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "enabled": row.enabled,
        }

    made = await cloud.sim.store.run(work, write=True)
    return {"project": project_body(request, made)}


def _user_body(request: Request, user_id: str, name: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "name": name,
        "domain_id": DOMAIN_ID,
        "enabled": True,
        "password_expires_at": None,
        "options": {},
        "links": {"self": f"{base_url(request)}/v3/users/{user_id}"},
    }


@router.get("/v3/users")
async def list_users(request: Request, cloud: CloudDep) -> dict[str, Any]:
    _admin(request)
    name = request.query_params.get("name")
    users = [
        _user_body(request, u.id, u.name)
        for u in cloud.users.values()
        if name is None or u.name == name
    ]
    return {"users": users, "links": {"self": None, "next": None, "previous": None}}


@router.get("/v3/users/{user_id}")
async def get_user(user_id: str, request: Request, cloud: CloudDep) -> dict[str, Any]:
    caller = _any_caller(request)
    user = cloud.users.get(user_id)
    if user is None or (not caller.is_admin and caller.user_id != user_id):
        raise CloudError("keystone", 404, f"Could not find user: {user_id}.")
    return {"user": _user_body(request, user.id, user.name)}


def _role_body(request: Request, name: str) -> dict[str, Any]:
    rid = role_id(name)
    return {
        "id": rid,
        "name": name,
        "domain_id": None,
        "description": None,
        "options": {},
        "links": {"self": f"{base_url(request)}/v3/roles/{rid}"},
    }


@router.get("/v3/roles")
async def list_roles(request: Request) -> dict[str, Any]:
    _any_caller(request)
    name = request.query_params.get("name")
    roles = [_role_body(request, n) for n in ROLES if name is None or n == name]
    return {"roles": roles, "links": {"self": None, "next": None, "previous": None}}


@router.get("/v3/roles/{rid}")
async def get_role(rid: str, request: Request) -> dict[str, Any]:
    _any_caller(request)
    name = next((n for n in ROLES if role_id(n) == rid), None)
    if name is None:
        raise CloudError("keystone", 404, f"Could not find role: {rid}.")
    return {"role": _role_body(request, name)}


async def _check_grant_target(cloud: FakeCloud, project_id: str, user_id: str, rid: str) -> None:
    if not any(p["id"] == project_id for p in await all_projects(cloud)):
        raise CloudError("keystone", 404, f"Could not find project: {project_id}.")
    if user_id not in cloud.users:
        raise CloudError("keystone", 404, f"Could not find user: {user_id}.")
    if rid not in {role_id(n) for n in ROLES}:
        raise CloudError("keystone", 404, f"Could not find role: {rid}.")


@router.put("/v3/projects/{project_id}/users/{user_id}/roles/{rid}", status_code=204)
async def grant_role(
    project_id: str, user_id: str, rid: str, request: Request, cloud: CloudDep
) -> Response:
    _admin(request)
    await _check_grant_target(cloud, project_id, user_id, rid)

    async def work(session: AsyncSession) -> None:
        if await session.get(SimRoleAssignment, (user_id, project_id, rid)) is None:
            session.add(SimRoleAssignment(user_id=user_id, project_id=project_id, role_id=rid))

    await cloud.sim.store.run(work, write=True)
    return Response(status_code=204)


@router.head("/v3/projects/{project_id}/users/{user_id}/roles/{rid}", status_code=204)
@router.get("/v3/projects/{project_id}/users/{user_id}/roles/{rid}", status_code=204)
async def check_role(
    project_id: str, user_id: str, rid: str, request: Request, cloud: CloudDep
) -> Response:
    _admin(request)
    await _check_grant_target(cloud, project_id, user_id, rid)
    names = await roles_on(cloud, user_id, project_id)
    if rid not in {role_id(n) for n in names}:
        raise CloudError("keystone", 404, f"Could not find role assignment for role: {rid}.")
    return Response(status_code=204)


@router.get("/v3/domains")
async def list_domains(request: Request) -> dict[str, Any]:
    _any_caller(request)
    return {"domains": [_domain_body(request)], "links": {"self": None, "next": None}}


@router.get("/v3/domains/{domain_id}")
async def get_domain(domain_id: str, request: Request) -> dict[str, Any]:
    _any_caller(request)
    if domain_id not in (DOMAIN_ID,):
        raise CloudError("keystone", 404, f"Could not find domain: {domain_id}.")
    return {"domain": _domain_body(request)}


def _domain_body(request: Request) -> dict[str, Any]:
    return {
        "id": DOMAIN_ID,
        "name": DOMAIN_NAME,
        "description": "The default domain",
        "enabled": True,
        "tags": [],
        "options": {},
        "links": {"self": f"{base_url(request)}/v3/domains/{DOMAIN_ID}"},
    }

"""Keystone v3's directory as the fake serves it: projects (the seeded `admin` and `demo`, and
those made through the API, kept in the simulator's store), users, roles, role assignments and
the `Default` domain. Only what a provider needs to map its projects to Keystone's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.fakecloud import auth
from stackgate.fakecloud.auth import CloudDep, base_url
from stackgate.fakecloud.cloud import (
    DOMAIN_ID,
    DOMAIN_NAME,
    IMPLIED,
    ROLES,
    FakeCloud,
    fixed_id,
    role_id,
)
from stackgate.fakecloud.errors import CloudError, unauthorized
from stackgate.providers.simulator.tables import SimProject, SimRoleAssignment

router = APIRouter(tags=["identity"])


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

"""Neutron's per-project quotas (neutron/quota/, the quotasv2 and quota_details extensions).

Limits default to Neutron's shipped defaults; an admin may change a project's limits with
`PUT /v2.0/quotas/{project_id}` (kept in memory on the app, as a restart of this fake starts
from the defaults). Usage is counted from the simulator's rows on every create, and a create
that would pass a limit is Neutron's 409 OverQuota."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from stackgate.fakecloud.auth import AdminDep, CallerDep, CloudDep
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.neutron_common import bad_request, error, policy_refused, read
from stackgate.providers.simulator.tables import (
    SimFloatingIP,
    SimNetwork,
    SimPort,
    SimRule,
    SimSecurityGroup,
    SimSubnet,
)

router = APIRouter()

# neutron/conf/quota.py defaults (-1: unlimited).
DEFAULTS: dict[str, int] = {
    "network": 100,
    "subnet": 100,
    "subnetpool": -1,
    "port": 500,
    "router": 10,
    "floatingip": 50,
    "security_group": 10,
    "security_group_rule": 100,
    "rbac_policy": 10,
}


def _overrides(request: Request) -> dict[str, dict[str, int]]:
    state = request.app.state
    found: dict[str, dict[str, int]] | None = getattr(state, "neutron_quotas", None)
    if found is None:
        found = {}
        state.neutron_quotas = found
    return found


def limits(request: Request, project_id: str) -> dict[str, int]:
    return {**DEFAULTS, **_overrides(request).get(project_id, {})}


async def usage(cloud: FakeCloud, project_id: str) -> dict[str, int]:
    """What the project holds, per quota resource (routers and pools are not modelled)."""

    async def work(session: AsyncSession) -> dict[str, int]:
        async def count(table: Any) -> int:
            stmt = select(func.count()).select_from(table).where(table.project_id == project_id)
            return int(await session.scalar(stmt) or 0)

        rules = await session.scalar(
            select(func.count())
            .select_from(SimRule)
            .join(SimSecurityGroup, SimSecurityGroup.id == SimRule.security_group_id)
            .where(SimSecurityGroup.project_id == project_id)
        )
        return {
            "network": await count(SimNetwork),
            "subnet": await count(SimSubnet),
            "port": await count(SimPort),
            "floatingip": await count(SimFloatingIP),
            "security_group": await count(SimSecurityGroup),
            "security_group_rule": int(rules or 0),
        }

    return await read(cloud, work)


async def enforce(
    request: Request, cloud: FakeCloud, project_id: str, wanted: dict[str, int]
) -> None:
    """409 OverQuota naming every resource `wanted` would take past its limit."""
    if not cloud.enforce_quotas:
        return
    limit = limits(request, project_id)
    used = await usage(cloud, project_id)
    overs = sorted(
        name
        for name, delta in wanted.items()
        if limit.get(name, -1) >= 0 and used.get(name, 0) + delta > limit[name]
    )
    if overs:
        # neutron_lib.exceptions.OverQuota: "Quota exceeded for resources: %(overs)s."
        raise error(409, f"Quota exceeded for resources: {overs}.", "OverQuota")


def _may_read(caller: Any, project_id: str) -> None:
    if not (caller.is_admin or caller.project_id == project_id):
        raise policy_refused("get_quota")


@router.get("/v2.0/quotas")
async def list_quotas(request: Request, caller: AdminDep) -> dict[str, Any]:
    """Projects with limits other than the defaults."""
    return {
        "quotas": [
            {**limits(request, p), "project_id": p, "tenant_id": p} for p in _overrides(request)
        ]
    }


@router.get("/v2.0/quotas/{project_id}/default")
async def default_quota(project_id: str, caller: CallerDep) -> dict[str, Any]:
    return {"quota": dict(DEFAULTS)}


@router.get("/v2.0/quotas/{project_id}/details")
async def quota_details(
    project_id: str, request: Request, caller: CallerDep, cloud: CloudDep
) -> dict[str, Any]:
    _may_read(caller, project_id)
    used = await usage(cloud, project_id)
    return {
        "quota": {
            name: {"limit": value, "used": used.get(name, 0), "reserved": 0}
            for name, value in limits(request, project_id).items()
        }
    }


@router.get("/v2.0/quotas/{project_id}")
async def show_quota(project_id: str, request: Request, caller: CallerDep) -> dict[str, Any]:
    _may_read(caller, project_id)
    return {"quota": limits(request, project_id)}


@router.put("/v2.0/quotas/{project_id}")
async def update_quota(
    project_id: str, request: Request, caller: AdminDep, body: Any = Body(...)
) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("quota"), dict):
        raise bad_request("Unable to find 'quota' in request body")
    changes: dict[str, int] = {}
    for name, value in body["quota"].items():
        if name not in DEFAULTS:
            raise bad_request(f"Unrecognized attribute(s) '{name}'")
        try:
            number = int(value)
        except (TypeError, ValueError) as exc:
            raise bad_request(
                f"Invalid input for {name}. Reason: '{value}' is not an integer."
            ) from exc
        if number < -1:
            raise bad_request(
                f"Invalid input for {name}. Reason: '{number}' is too small - must be at least "
                "'-1'."
            )
        changes[name] = number
    _overrides(request).setdefault(project_id, {}).update(changes)
    return {"quota": limits(request, project_id)}


@router.delete("/v2.0/quotas/{project_id}", status_code=204)
async def reset_quota(project_id: str, request: Request, caller: AdminDep) -> Response:
    _overrides(request).pop(project_id, None)
    return Response(status_code=204)

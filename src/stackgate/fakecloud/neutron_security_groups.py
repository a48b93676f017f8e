"""Security groups and rules of the fake Neutron (neutron/db/securitygroups_db.py)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Body, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import JSONResponse, Response

from stackgate.fakecloud.auth import Caller, CallerDep, CloudDep, WriterDep
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.neutron_common import (
    bad_request,
    before_read,
    error,
    fields_only,
    not_found,
    optional_int,
    optional_text,
    owner_for,
    owns,
    read,
    resource_body,
    select_items,
    sim_call,
    standard_attrs,
    tag_list,
    text,
    write,
)
from stackgate.fakecloud.neutron_quotas import enforce
from stackgate.providers.network import RuleSpec, SecurityGroupSpec
from stackgate.providers.simulator.security_groups import DEFAULT
from stackgate.providers.simulator.tables import SimRule, SimSecurityGroup

router = APIRouter()


def rule_view(row: SimRule, owner: str, *, default_group: bool) -> dict[str, Any]:
    return {
        "id": row.id,
        "security_group_id": row.security_group_id,
        "direction": row.direction,
        "ethertype": row.ethertype,
        "protocol": row.protocol,
        "port_range_min": row.port_range_min,
        "port_range_max": row.port_range_max,
        "remote_ip_prefix": row.remote_ip_prefix,
        "normalized_cidr": row.remote_ip_prefix,
        "remote_group_id": row.remote_group_id,
        "remote_address_group_id": None,
        "belongs_to_default_sg": default_group,
        **standard_attrs(owner, row.created_at, [], row.description),
    }


def group_view(row: SimSecurityGroup, rules: list[SimRule]) -> dict[str, Any]:
    is_default = row.default_for is not None
    return {
        "id": row.id,
        "name": row.name,
        "stateful": True,
        "shared": False,
        "security_group_rules": [
            rule_view(r, row.project_id, default_group=is_default) for r in rules
        ],
        **standard_attrs(row.project_id, row.created_at, row.tags, row.description),
    }


async def _rules_by_group(session: AsyncSession) -> dict[str, list[SimRule]]:
    found: dict[str, list[SimRule]] = defaultdict(list)
    stmt = select(SimRule).order_by(SimRule.created_at, SimRule.id)
    for rule in (await session.scalars(stmt)).all():
        found[rule.security_group_id].append(rule)
    return found


async def visible_group(cloud: FakeCloud, caller: Caller, group_id: str) -> SimSecurityGroup:
    async def work(session: AsyncSession) -> SimSecurityGroup | None:
        return await session.get(SimSecurityGroup, group_id)

    row = await read(cloud, work)
    if row is None or not owns(caller, row.project_id):
        raise not_found("Security group", group_id)
    return row


async def _group_json(cloud: FakeCloud, caller: Caller, group_id: str) -> dict[str, Any]:
    async def work(session: AsyncSession) -> dict[str, Any] | None:
        row = await session.get(SimSecurityGroup, group_id)
        if row is None or not owns(caller, row.project_id):
            return None
        stmt = (
            select(SimRule)
            .where(SimRule.security_group_id == group_id)
            .order_by(SimRule.created_at, SimRule.id)
        )
        return group_view(row, list((await session.scalars(stmt)).all()))

    view = await read(cloud, work)
    if view is None:
        raise not_found("Security group", group_id)
    return view


# --- groups ---------------------------------------------------------------------------------


@router.post("/v2.0/security-groups", status_code=201)
async def create_security_group(
    request: Request, caller: WriterDep, cloud: CloudDep, body: Any = Body(...)
) -> dict[str, Any]:
    data = resource_body(body, "security_group")
    owner = owner_for(caller, data, "security_group")
    # A new group brings its two egress rules, counted against the rule quota too.
    await enforce(request, cloud, owner, {"security_group": 1, "security_group_rule": 2})
    spec = SecurityGroupSpec(
        name=text(data, "name"),
        project_id=owner,
        description=text(data, "description"),
        tags=tag_list(data),
    )
    made = await sim_call(cloud.sim.network.create_security_group(spec))
    return {"security_group": await _group_json(cloud, caller, made.id)}


@router.get("/v2.0/security-groups")
async def list_security_groups(
    request: Request, caller: CallerDep, cloud: CloudDep
) -> dict[str, Any]:
    # securitygroups_db.get_security_groups: listing makes the default group of the project
    # asked about (the filter's, else the caller's) if it is missing.
    params = request.query_params
    project = params.get("project_id") or params.get("tenant_id") or caller.project_id
    assert project is not None
    if owns(caller, project):
        await sim_call(cloud.sim.network.find_security_group(DEFAULT, project_id=project))
    before_read(cloud, "security_groups")

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        rules = await _rules_by_group(session)
        stmt = select(SimSecurityGroup).order_by(SimSecurityGroup.created_at, SimSecurityGroup.id)
        return [
            group_view(g, rules.get(g.id, []))
            for g in (await session.scalars(stmt)).all()
            if owns(caller, g.project_id)
        ]

    return {"security_groups": select_items(await read(cloud, work), params)}


@router.get("/v2.0/security-groups/{group_id}")
async def show_security_group(
    group_id: str, request: Request, caller: CallerDep, cloud: CloudDep
) -> dict[str, Any]:
    before_read(cloud, "security_groups")
    view = await _group_json(cloud, caller, group_id)
    return {"security_group": select_items([view], fields_only(request))[0]}


@router.put("/v2.0/security-groups/{group_id}")
async def update_security_group(
    group_id: str, caller: WriterDep, cloud: CloudDep, body: Any = Body(...)
) -> dict[str, Any]:
    data = resource_body(body, "security_group")
    row = await visible_group(cloud, caller, group_id)
    name = optional_text(data, "name")
    if name is not None and row.default_for is not None and name != DEFAULT:
        # SecurityGroupCannotUpdateDefault
        raise error(
            409, "Updating default security group not allowed.", "SecurityGroupCannotUpdateDefault"
        )
    if name is not None and name.strip().lower() == DEFAULT and row.default_for is None:
        raise bad_request("Invalid input for name. Reason: 'default' is reserved.")

    async def work(session: AsyncSession) -> None:
        group = await session.get(SimSecurityGroup, group_id, with_for_update=True)
        if group is None:
            raise not_found("Security group", group_id)
        if name is not None:
            group.name = name
        if "description" in data:
            group.description = text(data, "description")

    await write(cloud, work)
    return {"security_group": await _group_json(cloud, caller, group_id)}


@router.delete("/v2.0/security-groups/{group_id}", status_code=204)
async def delete_security_group(group_id: str, caller: WriterDep, cloud: CloudDep) -> Response:
    row = await visible_group(cloud, caller, group_id)
    if row.default_for is not None and not caller.is_admin:
        raise error(
            409,
            "Insufficient rights for removing default security group.",
            "SecurityGroupCannotRemoveDefault",
        )
    await sim_call(cloud.sim.network.delete_security_group(group_id))
    return Response(status_code=204)


# --- rules ----------------------------------------------------------------------------------


async def _rule_json(cloud: FakeCloud, caller: Caller, rule_id: str) -> dict[str, Any]:
    async def work(session: AsyncSession) -> dict[str, Any] | None:
        rule = await session.get(SimRule, rule_id)
        if rule is None:
            return None
        group = await session.get(SimSecurityGroup, rule.security_group_id)
        if group is None or not owns(caller, group.project_id):
            return None
        return rule_view(rule, group.project_id, default_group=group.default_for is not None)

    view = await read(cloud, work)
    if view is None:
        raise not_found("Security group rule", rule_id)
    return view


def _rule_spec(data: dict[str, Any]) -> RuleSpec:
    group_id = optional_text(data, "security_group_id")
    if not group_id:
        raise bad_request(
            "Failed to parse request. Required attribute 'security_group_id' not specified"
        )
    direction = optional_text(data, "direction")
    if not direction:
        raise bad_request("Failed to parse request. Required attribute 'direction' not specified")
    protocol = data.get("protocol")
    return RuleSpec(
        security_group_id=group_id,
        direction=direction,
        ethertype=text(data, "ethertype", "IPv4"),
        protocol=None if protocol is None else str(protocol),
        port_range_min=optional_int(data, "port_range_min"),
        port_range_max=optional_int(data, "port_range_max"),
        remote_ip_prefix=optional_text(data, "remote_ip_prefix"),
        remote_group_id=optional_text(data, "remote_group_id"),
        description=text(data, "description"),
    )


async def _create_rule(
    request: Request, caller: Caller, cloud: FakeCloud, data: dict[str, Any]
) -> dict[str, Any]:
    spec = _rule_spec(data)
    group = await visible_group(cloud, caller, spec.security_group_id)
    if spec.remote_group_id is not None:
        await visible_group(cloud, caller, spec.remote_group_id)
    await enforce(request, cloud, group.project_id, {"security_group_rule": 1})
    made = await sim_call(cloud.sim.network.create_security_group_rule(spec))
    return await _rule_json(cloud, caller, made.id)


@router.post("/v2.0/security-group-rules", status_code=201)
async def create_security_group_rule(
    request: Request, caller: WriterDep, cloud: CloudDep, body: Any = Body(...)
) -> JSONResponse:
    """One rule, or Neutron's bulk form `{"security_group_rules": [...]}`."""
    if isinstance(body, dict) and isinstance(body.get("security_group_rules"), list):
        made = []
        for item in body["security_group_rules"]:
            if not isinstance(item, dict):
                raise bad_request("Invalid input for security_group_rules.")
            made.append(await _create_rule(request, caller, cloud, item))
        return JSONResponse({"security_group_rules": made}, status_code=201)
    data = resource_body(body, "security_group_rule")
    owner_for(caller, data, "security_group_rule")
    rule = await _create_rule(request, caller, cloud, data)
    return JSONResponse({"security_group_rule": rule}, status_code=201)


@router.get("/v2.0/security-group-rules")
async def list_security_group_rules(
    request: Request, caller: CallerDep, cloud: CloudDep
) -> dict[str, Any]:
    before_read(cloud, "security_groups")

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        groups = {g.id: g for g in (await session.scalars(select(SimSecurityGroup))).all()}
        stmt = select(SimRule).order_by(SimRule.created_at, SimRule.id)
        views = []
        for rule in (await session.scalars(stmt)).all():
            group = groups.get(rule.security_group_id)
            if group is not None and owns(caller, group.project_id):
                is_default = group.default_for is not None
                views.append(rule_view(rule, group.project_id, default_group=is_default))
        return views

    return {"security_group_rules": select_items(await read(cloud, work), request.query_params)}


@router.get("/v2.0/security-group-rules/{rule_id}")
async def show_security_group_rule(
    rule_id: str, request: Request, caller: CallerDep, cloud: CloudDep
) -> dict[str, Any]:
    view = await _rule_json(cloud, caller, rule_id)
    return {"security_group_rule": select_items([view], fields_only(request))[0]}


@router.delete("/v2.0/security-group-rules/{rule_id}", status_code=204)
async def delete_security_group_rule(rule_id: str, caller: WriterDep, cloud: CloudDep) -> Response:
    await _rule_json(cloud, caller, rule_id)
    await sim_call(cloud.sim.network.delete_security_group_rule(rule_id))
    return Response(status_code=204)

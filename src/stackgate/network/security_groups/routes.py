"""Security group HTTP routes: /api/v1/security-groups and their rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from stackgate.core.deps import ContextDep, page_params, policy_doc
from stackgate.core.pagination import PageRequest
from stackgate.core.problem import problem_responses
from stackgate.network.security_groups.schemas import (
    GroupCreate,
    GroupList,
    GroupRead,
    GroupUpdate,
    RuleCreate,
    RuleList,
    RuleRead,
)
from stackgate.network.security_groups.service import GroupDetail, SecurityGroupService


async def _groups(request: Request) -> SecurityGroupService:
    service: SecurityGroupService = request.app.state.container.security_groups
    return service


GroupsDep = Annotated[SecurityGroupService, Depends(_groups)]
GroupPage = Annotated[PageRequest, Depends(page_params(["created_at", "name"], "created_at"))]

PREFIX = "/api/v1/security-groups"
router = APIRouter(prefix=PREFIX, tags=["security groups"], responses=problem_responses(400, 422))
_ONE = problem_responses(404)
_WRITE = problem_responses(404, 409)
_READ = policy_doc("security_group:read")
_WRITE_POLICY = policy_doc("security_group:write")


def _read(detail: GroupDetail) -> GroupRead:
    return GroupRead.of(detail.group, detail.rules)


@router.get("", response_model=GroupList, openapi_extra=_READ)
async def list_security_groups(
    ctx: ContextDep,
    groups: GroupsDep,
    page: GroupPage,
    name: Annotated[str | None, Query(max_length=255, description="Name substring.")] = None,
) -> object:
    """List the project's security groups with their rules (`default` is made on first use)."""
    result = await groups.list(ctx, name=name, page=page)
    body = result.as_body()
    body["items"] = [_read(d) for d in result.items]
    return body


@router.post(
    "",
    response_model=GroupRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(403),
    openapi_extra=_WRITE_POLICY,
)
async def create_security_group(
    data: GroupCreate, ctx: ContextDep, groups: GroupsDep, response: Response
) -> GroupRead:
    """Create a group with the 2 egress rules (202; the worker makes it in the cloud)."""
    detail = await groups.create(ctx, data)
    response.headers["Location"] = f"{PREFIX}/{detail.group.id}"
    return _read(detail)


@router.get("/{group_id}", response_model=GroupRead, responses=_ONE, openapi_extra=_READ)
async def get_security_group(group_id: str, ctx: ContextDep, groups: GroupsDep) -> GroupRead:
    """Show a security group with its rules."""
    return _read(await groups.get(ctx, group_id))


@router.patch(
    "/{group_id}", response_model=GroupRead, responses=_WRITE, openapi_extra=_WRITE_POLICY
)
async def update_security_group(
    group_id: str, data: GroupUpdate, ctx: ContextDep, groups: GroupsDep
) -> GroupRead:
    """Rename or describe a group (the default group cannot be renamed: 409)."""
    return _read(await groups.update(ctx, group_id, data))


@router.delete(
    "/{group_id}",
    response_model=GroupRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_WRITE,
    openapi_extra=_WRITE_POLICY,
)
async def delete_security_group(group_id: str, ctx: ContextDep, groups: GroupsDep) -> GroupRead:
    """Delete a group (202): 409 while a port uses it or another group's rule names it."""
    return _read(await groups.delete(ctx, group_id))


@router.get("/{group_id}/rules", response_model=RuleList, responses=_ONE, openapi_extra=_READ)
async def list_security_group_rules(group_id: str, ctx: ContextDep, groups: GroupsDep) -> RuleList:
    """List a group's rules, oldest first."""
    return RuleList(items=[RuleRead.of(r) for r in await groups.list_rules(ctx, group_id)])


@router.post(
    "/{group_id}/rules",
    response_model=RuleRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(403, 404, 409),
    openapi_extra=_WRITE_POLICY,
)
async def create_security_group_rule(
    group_id: str, data: RuleCreate, ctx: ContextDep, groups: GroupsDep, response: Response
) -> RuleRead:
    """Add a rule (202): validated and normalised as Neutron does; an identical one -> 409."""
    rule = await groups.add_rule(ctx, group_id, data)
    response.headers["Location"] = f"{PREFIX}/{group_id}/rules/{rule.id}"
    return RuleRead.of(rule)


@router.get(
    "/{group_id}/rules/{rule_id}", response_model=RuleRead, responses=_ONE, openapi_extra=_READ
)
async def get_security_group_rule(
    group_id: str, rule_id: str, ctx: ContextDep, groups: GroupsDep
) -> RuleRead:
    """Show one rule."""
    return RuleRead.of(await groups.get_rule(ctx, group_id, rule_id))


@router.delete(
    "/{group_id}/rules/{rule_id}",
    response_model=RuleRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_WRITE,
    openapi_extra=_WRITE_POLICY,
)
async def delete_security_group_rule(
    group_id: str, rule_id: str, ctx: ContextDep, groups: GroupsDep
) -> RuleRead:
    """Delete a rule (202; rules are immutable: delete and create again to change one)."""
    return RuleRead.of(await groups.delete_rule(ctx, group_id, rule_id))

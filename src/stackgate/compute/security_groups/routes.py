"""add-security-group / remove-security-group: /api/v1/vms/{id}/actions/...-security-group.

Their router is included before the actions router, whose generic action route would
otherwise match these paths."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from stackgate.compute.security_groups.schemas import SecurityGroupAction
from stackgate.compute.security_groups.service import ServerSecurityGroupService
from stackgate.compute.servers.routes import ACT
from stackgate.compute.servers.schemas import ServerRead
from stackgate.core.deps import ContextDep, policy_doc
from stackgate.core.problem import problem_responses


async def _groups(request: Request) -> ServerSecurityGroupService:
    return ServerSecurityGroupService(request.app.state.container.servers)


GroupsDep = Annotated[ServerSecurityGroupService, Depends(_groups)]
router = APIRouter(prefix="/api/v1/vms", tags=["servers"], responses=problem_responses(400, 422))


@router.post(
    "/{server_id}/actions/add-security-group",
    response_model=ServerRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ACT,
    openapi_extra=policy_doc("server:security_group"),
)
async def add_security_group(
    server_id: str, data: SecurityGroupAction, ctx: ContextDep, groups: GroupsDep
) -> object:
    """Add a security group (name or id) to every port of the server (409 if already on)."""
    return await groups.change(ctx, server_id, data, add=True)


@router.post(
    "/{server_id}/actions/remove-security-group",
    response_model=ServerRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ACT,
    openapi_extra=policy_doc("server:security_group"),
)
async def remove_security_group(
    server_id: str, data: SecurityGroupAction, ctx: ContextDep, groups: GroupsDep
) -> object:
    """Remove a security group from the server's ports (404 if it is not on the server)."""
    return await groups.change(ctx, server_id, data, add=False)

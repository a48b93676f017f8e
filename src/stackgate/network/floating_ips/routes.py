"""Floating IP HTTP routes: /api/v1/floating-ips."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status

from stackgate.core.deps import ContextDep, page_params, policy_doc
from stackgate.core.pagination import PageRequest
from stackgate.core.problem import problem_responses
from stackgate.network.floating_ips.schemas import (
    FloatingIPAssociate,
    FloatingIPCreate,
    FloatingIPList,
    FloatingIPRead,
)
from stackgate.network.floating_ips.service import FloatingIPService


async def _service(request: Request) -> FloatingIPService:
    service: FloatingIPService = request.app.state.container.floating_ips
    return service


FipsDep = Annotated[FloatingIPService, Depends(_service)]
FipPage = Annotated[
    PageRequest,
    Depends(page_params(["created_at", "floating_ip_address", "status"], "-created_at")),
]

router = APIRouter(
    prefix="/api/v1/floating-ips", tags=["floating-ips"], responses=problem_responses(400, 422)
)
_ONE = problem_responses(404)
_ACT = problem_responses(404, 409)


def _location(response: Response, fip_id: str) -> None:
    response.headers["Location"] = f"/api/v1/floating-ips/{fip_id}"


@router.post(
    "",
    response_model=FloatingIPRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(403, 409),
    openapi_extra=policy_doc("floating_ip:write"),
)
async def create_floating_ip(
    data: FloatingIPCreate, ctx: ContextDep, fips: FipsDep, response: Response
) -> object:
    """Allocate a floating IP from an external network (default `public`), DOWN."""
    fip = await fips.create(ctx, data)
    _location(response, fip.id)
    return fip


@router.get("", response_model=FloatingIPList, openapi_extra=policy_doc("floating_ip:read"))
async def list_floating_ips(
    ctx: ContextDep,
    fips: FipsDep,
    page: FipPage,
    status_: Annotated[Literal["ACTIVE", "DOWN", "ERROR"] | None, Query(alias="status")] = None,
    port_id: Annotated[str | None, Query(max_length=36)] = None,
) -> object:
    """The project's floating IPs."""
    result = await fips.list(ctx, status=status_, port_id=port_id, page=page)
    return result.as_body()


@router.get(
    "/{fip_id}",
    response_model=FloatingIPRead,
    responses=_ONE,
    openapi_extra=policy_doc("floating_ip:read"),
)
async def get_floating_ip(fip_id: str, ctx: ContextDep, fips: FipsDep) -> object:
    """Show a floating IP."""
    return await fips.get(ctx, fip_id)


@router.delete(
    "/{fip_id}",
    response_model=FloatingIPRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
    openapi_extra=policy_doc("floating_ip:write"),
)
async def delete_floating_ip(
    fip_id: str, ctx: ContextDep, fips: FipsDep, response: Response
) -> object:
    """Release a floating IP (disassociated first); the row goes once the cloud let go."""
    fip = await fips.delete(ctx, fip_id)
    _location(response, fip.id)
    return fip


@router.post(
    "/{fip_id}/actions/associate",
    response_model=FloatingIPRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
    openapi_extra=policy_doc("floating_ip:write"),
)
async def associate_floating_ip(
    fip_id: str, data: FloatingIPAssociate, ctx: ContextDep, fips: FipsDep, response: Response
) -> object:
    """Associate with a server's port (its first one by default): DOWN until the worker has
    wired it, then ACTIVE."""
    fip = await fips.associate(ctx, fip_id, data)
    _location(response, fip.id)
    return fip


@router.post(
    "/{fip_id}/actions/disassociate",
    response_model=FloatingIPRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
    openapi_extra=policy_doc("floating_ip:write"),
)
async def disassociate_floating_ip(
    fip_id: str, ctx: ContextDep, fips: FipsDep, response: Response
) -> object:
    """Disassociate a floating IP (DOWN)."""
    fip = await fips.disassociate(ctx, fip_id)
    _location(response, fip.id)
    return fip

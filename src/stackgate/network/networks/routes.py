"""Network and subnet HTTP routes: /api/v1/networks, /api/v1/subnets. Creates and deletes
queue work for the network worker: 202 with the resource and a Location."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status

from stackgate.core.deps import ContextDep, page_params, policy_doc
from stackgate.core.pagination import PageRequest
from stackgate.core.problem import problem_responses
from stackgate.network.networks.schemas import (
    NetworkCreate,
    NetworkList,
    NetworkRead,
    NetworkUpdate,
    SubnetCreate,
    SubnetList,
    SubnetRead,
    SubnetUpdate,
)
from stackgate.network.networks.service import NetworkService


async def _service(request: Request) -> NetworkService:
    service: NetworkService = request.app.state.container.networks
    return service


NetworksDep = Annotated[NetworkService, Depends(_service)]
NetworkPage = Annotated[
    PageRequest, Depends(page_params(["created_at", "name", "status"], "-created_at"))
]
SubnetPage = Annotated[
    PageRequest, Depends(page_params(["created_at", "name", "cidr"], "-created_at"))
]
StatusFilter = Literal["ACTIVE", "BUILD", "DOWN", "ERROR"]

router = APIRouter(tags=["networks"], responses=problem_responses(400, 422))
_ONE = problem_responses(404)
_ACT = problem_responses(403, 404, 409)


def _accepted(response: Response, path: str) -> None:
    response.status_code = status.HTTP_202_ACCEPTED
    response.headers["Location"] = path


# networks


@router.post(
    "/api/v1/networks",
    response_model=NetworkRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(403),
    openapi_extra=policy_doc("network:write"),
)
async def create_network(
    data: NetworkCreate, ctx: ContextDep, networks: NetworksDep, response: Response
) -> object:
    """Create a network: 202 in BUILD; the worker makes it ACTIVE (shared/external: admin)."""
    network = await networks.create_network(ctx, data)
    _accepted(response, f"/api/v1/networks/{network.id}")
    return network


@router.get(
    "/api/v1/networks", response_model=NetworkList, openapi_extra=policy_doc("network:read")
)
async def list_networks(
    ctx: ContextDep,
    networks: NetworksDep,
    page: NetworkPage,
    name: Annotated[str | None, Query(max_length=255, description="Name substring.")] = None,
    status_: Annotated[StatusFilter | None, Query(alias="status")] = None,
) -> object:
    """The project's networks and the shared ones (the project's `private` one included)."""
    result = await networks.list_networks(ctx, name=name, status=status_, page=page)
    return result.as_body()


@router.get(
    "/api/v1/networks/{network_id}",
    response_model=NetworkRead,
    responses=_ONE,
    openapi_extra=policy_doc("network:read"),
)
async def get_network(network_id: str, ctx: ContextDep, networks: NetworksDep) -> object:
    """Show a network of the project or a shared one."""
    return await networks.get_network(ctx, network_id)


@router.patch(
    "/api/v1/networks/{network_id}",
    response_model=NetworkRead,
    responses=_ACT,
    openapi_extra=policy_doc("network:write"),
)
async def update_network(
    network_id: str, data: NetworkUpdate, ctx: ContextDep, networks: NetworksDep
) -> object:
    """Rename or describe a network."""
    return await networks.update_network(ctx, network_id, data)


@router.delete(
    "/api/v1/networks/{network_id}",
    response_model=NetworkRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
    openapi_extra=policy_doc("network:write"),
)
async def delete_network(
    network_id: str, ctx: ContextDep, networks: NetworksDep, response: Response
) -> object:
    """Delete a network and its subnets (409 network_in_use while it has ports); the row
    goes once the cloud has deleted it."""
    network = await networks.delete_network(ctx, network_id)
    _accepted(response, f"/api/v1/networks/{network.id}")
    return network


# subnets


@router.post(
    "/api/v1/subnets",
    response_model=SubnetRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
    openapi_extra=policy_doc("network:write"),
)
async def create_subnet(
    data: SubnetCreate, ctx: ContextDep, networks: NetworksDep, response: Response
) -> object:
    """Create a subnet (gateway and pool default as in Neutron): 202 in BUILD."""
    subnet = await networks.create_subnet(ctx, data)
    _accepted(response, f"/api/v1/subnets/{subnet.id}")
    return subnet


@router.get("/api/v1/subnets", response_model=SubnetList, openapi_extra=policy_doc("network:read"))
async def list_subnets(
    ctx: ContextDep,
    networks: NetworksDep,
    page: SubnetPage,
    network_id: Annotated[str | None, Query(max_length=36)] = None,
) -> object:
    """Subnets of the networks the caller sees."""
    result = await networks.list_subnets(ctx, network_id=network_id, page=page)
    return result.as_body()


@router.get(
    "/api/v1/subnets/{subnet_id}",
    response_model=SubnetRead,
    responses=_ONE,
    openapi_extra=policy_doc("network:read"),
)
async def get_subnet(subnet_id: str, ctx: ContextDep, networks: NetworksDep) -> object:
    """Show a subnet."""
    return await networks.get_subnet(ctx, subnet_id)


@router.patch(
    "/api/v1/subnets/{subnet_id}",
    response_model=SubnetRead,
    responses=_ACT,
    openapi_extra=policy_doc("network:write"),
)
async def update_subnet(
    subnet_id: str, data: SubnetUpdate, ctx: ContextDep, networks: NetworksDep
) -> object:
    """Rename a subnet."""
    return await networks.update_subnet(ctx, subnet_id, data)


@router.delete(
    "/api/v1/subnets/{subnet_id}",
    response_model=SubnetRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
    openapi_extra=policy_doc("network:write"),
)
async def delete_subnet(
    subnet_id: str, ctx: ContextDep, networks: NetworksDep, response: Response
) -> object:
    """Delete a subnet with no address in use (409 subnet_in_use otherwise)."""
    subnet = await networks.delete_subnet(ctx, subnet_id)
    _accepted(response, f"/api/v1/subnets/{subnet.id}")
    return subnet

"""Port HTTP routes: /api/v1/ports."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status

from stackgate.core.deps import ContextDep, page_params, policy_doc
from stackgate.core.pagination import PageRequest
from stackgate.core.problem import problem_responses
from stackgate.network.ports.schemas import PortCreate, PortList, PortRead, PortUpdate
from stackgate.network.ports.service import PortService


async def _service(request: Request) -> PortService:
    service: PortService = request.app.state.container.ports
    return service


PortsDep = Annotated[PortService, Depends(_service)]
PortPage = Annotated[
    PageRequest, Depends(page_params(["created_at", "name", "status"], "-created_at"))
]

router = APIRouter(prefix="/api/v1/ports", tags=["ports"], responses=problem_responses(400, 422))
_ONE = problem_responses(404)
_ACT = problem_responses(404, 409)


@router.post(
    "",
    response_model=PortRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
    openapi_extra=policy_doc("network:write"),
)
async def create_port(
    data: PortCreate, ctx: ContextDep, ports: PortsDep, response: Response
) -> object:
    """Create a port with its fixed IPs (409 ip_address_in_use / ip_exhausted): 202 in BUILD."""
    port = await ports.create(ctx, data)
    response.headers["Location"] = f"/api/v1/ports/{port.port.id}"
    return port


@router.get("", response_model=PortList, openapi_extra=policy_doc("network:read"))
async def list_ports(
    ctx: ContextDep,
    ports: PortsDep,
    page: PortPage,
    network_id: Annotated[str | None, Query(max_length=36)] = None,
    device_id: Annotated[str | None, Query(max_length=36, description="Server id.")] = None,
    status_: Annotated[
        Literal["ACTIVE", "BUILD", "DOWN", "ERROR"] | None, Query(alias="status")
    ] = None,
) -> object:
    """The project's ports."""
    result = await ports.list(
        ctx, network_id=network_id, device_id=device_id, status=status_, page=page
    )
    return result.as_body()


@router.get(
    "/{port_id}", response_model=PortRead, responses=_ONE, openapi_extra=policy_doc("network:read")
)
async def get_port(port_id: str, ctx: ContextDep, ports: PortsDep) -> object:
    """Show a port."""
    return await ports.get(ctx, port_id)


@router.patch(
    "/{port_id}", response_model=PortRead, responses=_ACT, openapi_extra=policy_doc("network:write")
)
async def update_port(port_id: str, data: PortUpdate, ctx: ContextDep, ports: PortsDep) -> object:
    """Rename a port or replace its security groups (applied in the cloud by the worker)."""
    return await ports.update(ctx, port_id, data)


@router.delete(
    "/{port_id}",
    response_model=PortRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ACT,
    openapi_extra=policy_doc("network:write"),
)
async def delete_port(port_id: str, ctx: ContextDep, ports: PortsDep, response: Response) -> object:
    """Delete an unbound port (a server's port: 409, delete the server); addresses are
    freed once the cloud has deleted it."""
    port = await ports.delete(ctx, port_id)
    response.headers["Location"] = f"/api/v1/ports/{port.port.id}"
    return port

"""Server HTTP routes: /api/v1/vms (create, list, show, update, delete)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from stackgate.compute.servers.schemas import (
    ServerCreate,
    ServerDetail,
    ServerList,
    ServerRead,
    ServerUpdate,
)
from stackgate.compute.servers.service import ServerService
from stackgate.core.deps import (
    ContextDep,
    IdempotencyKeyDep,
    PreferWaitDep,
    page_params,
    policy_doc,
)
from stackgate.core.idempotency import StoredResponse
from stackgate.core.pagination import PageRequest
from stackgate.core.problem import problem_responses
from stackgate.semantics.nova import Status


async def _servers(request: Request) -> ServerService:
    service: ServerService = request.app.state.container.servers
    return service


ServersDep = Annotated[ServerService, Depends(_servers)]
ServerPage = Annotated[
    PageRequest, Depends(page_params(["created_at", "updated_at", "name", "status"], "-created_at"))
]

StatusFilter = StrEnum(  # type: ignore[misc]
    "StatusFilter",
    {s.value: s.value for s in Status if s is not Status.UNKNOWN}
    | {"RUNNING": "RUNNING", "STOPPED": "STOPPED"},
)


router = APIRouter(prefix="/api/v1/vms", tags=["servers"], responses=problem_responses(400, 422))
ONE = problem_responses(404)
ACT = problem_responses(404, 409)


def location(server_id: str) -> str:
    return f"/api/v1/vms/{server_id}"


async def accepted(
    servers: ServerService, ctx: ContextDep, server: ServerDetail, wait: float, response: Response
) -> ServerDetail:
    """202 with the resource and Location; with `Prefer: wait=N`, 200 once it settled."""
    response.headers["Location"] = location(server.server.id)
    if wait <= 0:
        response.status_code = status.HTTP_202_ACCEPTED
        return server
    server, settled = await servers.wait(ctx, server.server.id, wait)
    response.headers["Preference-Applied"] = f"wait={wait:g}"
    response.status_code = status.HTTP_200_OK if settled else status.HTTP_202_ACCEPTED
    return server


@router.post(
    "",
    response_model=ServerRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(403, 409),
    openapi_extra=policy_doc("server:create"),
)
async def create_server(
    data: ServerCreate,
    ctx: ContextDep,
    servers: ServersDep,
    key: IdempotencyKeyDep,
    wait: PreferWaitDep,
    response: Response,
) -> object:
    """Create a server: 202 in BUILD; the worker brings it to ACTIVE or ERROR."""
    result = await servers.create(ctx, data, idempotency_key=key)
    if isinstance(result, StoredResponse):
        return JSONResponse(
            result.body,
            status_code=result.status_code,
            headers={"Location": location(str(result.resource_id)), "Idempotent-Replayed": "true"},
        )
    return await accepted(servers, ctx, result, wait, response)


@router.get("", response_model=ServerList, openapi_extra=policy_doc("server:list"))
async def list_servers(
    ctx: ContextDep,
    servers: ServersDep,
    page: ServerPage,
    status_: Annotated[StatusFilter | None, Query(alias="status")] = None,
    name: Annotated[str | None, Query(max_length=255, description="Name substring.")] = None,
    flavor: Annotated[str | None, Query(max_length=255, description="Flavor name or id.")] = None,
    image: Annotated[str | None, Query(max_length=255, description="Image name or id.")] = None,
) -> object:
    """List the project's servers (DELETED ones: the cloud admin, with status=DELETED)."""
    result = await servers.list(
        ctx,
        status=status_.value if status_ else None,
        name=name,
        flavor=flavor,
        image=image,
        page=page,
    )
    return result.as_body()


@router.get(
    "/{server_id}",
    response_model=ServerRead,
    responses=ONE,
    openapi_extra=policy_doc("server:get"),
)
async def get_server(server_id: str, ctx: ContextDep, servers: ServersDep) -> object:
    """Show a server (a deleted one is gone: 404, as in Nova)."""
    return await servers.get(ctx, server_id)


@router.patch(
    "/{server_id}",
    response_model=ServerRead,
    responses=ACT,
    openapi_extra=policy_doc("server:update"),
)
async def update_server(
    server_id: str, data: ServerUpdate, ctx: ContextDep, servers: ServersDep
) -> object:
    """Change name, description or metadata."""
    return await servers.update(ctx, server_id, data)


@router.delete(
    "/{server_id}",
    response_model=ServerRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ACT,
    openapi_extra=policy_doc("server:delete"),
)
async def delete_server(
    server_id: str, ctx: ContextDep, servers: ServersDep, wait: PreferWaitDep, response: Response
) -> object:
    """Delete a server: it is gone (404) once DELETED; its action log stays readable."""
    server = await servers.delete(ctx, server_id)
    return await accepted(servers, ctx, server, wait, response)

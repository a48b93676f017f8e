"""/api/v1/operations: what an accepted request started, and how it is going."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from stackgate.activity.operations.schemas import (
    OperationFilters,
    OperationList,
    OperationRead,
    OperationStatus,
)
from stackgate.activity.operations.service import OperationService
from stackgate.activity.stream.routes import SSE_ANSWER, Timeout, event_stream
from stackgate.core.deps import ContextDep, page_params, policy_doc
from stackgate.core.pagination import PageRequest
from stackgate.core.problem import problem_responses


async def _operations(request: Request) -> OperationService:
    service: OperationService = request.app.state.container.operation_reads
    return service


OperationsDep = Annotated[OperationService, Depends(_operations)]
OperationPage = Annotated[PageRequest, Depends(page_params(["created_at"], "-created_at"))]
Str = Annotated[str | None, Query(max_length=64)]

router = APIRouter(
    prefix="/api/v1/operations",
    tags=["operations"],
    responses=problem_responses(400, 401, 403, 422),
)
ONE = problem_responses(404)


@router.get("", response_model=OperationList, openapi_extra=policy_doc("operation:read"))
async def list_operations(
    ctx: ContextDep,
    operations: OperationsDep,
    page: OperationPage,
    resource_id: Str = None,
    resource_type: Str = None,
    action: Str = None,
    status: Annotated[OperationStatus | None, Query()] = None,
    project_id: Annotated[
        str | None, Query(max_length=64, description="Another project (admins only).")
    ] = None,
    all_projects: Annotated[bool, Query(description="Every project (admins only).")] = False,
) -> object:
    """The project's operations, newest first."""
    filters = OperationFilters(
        project_id=project_id,
        resource_id=resource_id,
        resource_type=resource_type,
        action=action,
        status=status,
    )
    result = await operations.list(ctx, filters=filters, page=page, all_projects=all_projects)
    return result.as_body()


async def _visible(op_id: str, ctx: ContextDep, operations: OperationsDep) -> OperationRead:
    return await operations.get(ctx, op_id)


Visible = Annotated[OperationRead, Depends(_visible)]


@router.get(
    "/{op_id}",
    response_model=OperationRead,
    responses=ONE,
    openapi_extra=policy_doc("operation:read"),
)
async def get_operation(operation: Visible) -> object:
    """One operation: its status, step, start and end, and the fault if it failed."""
    return operation


@router.get(
    "/{op_id}/events",
    response_class=StreamingResponse,
    responses={**SSE_ANSWER, **ONE},
    openapi_extra=policy_doc("operation:read"),
)
async def follow_operation(
    ctx: ContextDep,
    operation: Visible,
    operations: OperationsDep,
    timeout_seconds: Timeout = None,
) -> StreamingResponse:
    """`event: operation` with the operation now and at each change, and its resource's
    events, until it ends: then the stream closes."""
    return event_stream(operations.follow(ctx, operation, duration=timeout_seconds))

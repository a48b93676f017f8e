"""GET /api/v1/audit."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from stackgate.audit.schemas import AuditFilters, AuditList
from stackgate.audit.service import AuditService
from stackgate.core.deps import ContextDep, page_params, policy_doc
from stackgate.core.pagination import PageRequest
from stackgate.core.problem import problem_responses
from stackgate.core.schemas import DateTime


async def _audit(request: Request) -> AuditService:
    service: AuditService = request.app.state.container.audit
    return service


AuditDep = Annotated[AuditService, Depends(_audit)]
AuditPage = Annotated[PageRequest, Depends(page_params(["at"], "-at"))]
Str = Annotated[str | None, Query(max_length=255)]

router = APIRouter(
    prefix="/api/v1", tags=["audit"], responses=problem_responses(400, 401, 403, 422)
)


@router.get("/audit", response_model=AuditList, openapi_extra=policy_doc("audit:read"))
async def list_audit(
    ctx: ContextDep,
    audit: AuditDep,
    page: AuditPage,
    project_id: Str = None,
    user_id: Str = None,
    resource_type: Str = None,
    resource_id: Str = None,
    action: Str = None,
    outcome: Annotated[Literal["success", "refused", "failed"] | None, Query()] = None,
    since: Annotated[DateTime | None, Query(description="RFC 3339, inclusive.")] = None,
    until: Annotated[DateTime | None, Query(description="RFC 3339, exclusive.")] = None,
) -> object:
    """Who did what to which resource, when, with what outcome (every mutating request)."""
    filters = AuditFilters(
        project_id=project_id,
        user_id=user_id,
        resource_type=resource_type,
        resource_id=resource_id,
        action=action,
        outcome=outcome,
        since=since,
        until=until,
    )
    return (await audit.list(ctx, filters=filters, page=page)).as_body()

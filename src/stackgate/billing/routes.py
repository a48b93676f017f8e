"""The billing HTTP API (/api/v1/billing). The app that includes this router puts a
`BillingRuntime`-like object (`.service`, `.auth`) on `app.state.billing`.

Authorisation: the control plane's bearer token. A member of any role (reader and up) on a
project sees that project's usage; the cloud admin sees any project's usage and the orders
(orders span every user, so they are admin-only).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer

from stackgate.billing import rating
from stackgate.billing.schemas import OrderList, UsageRead, WindowEnd, WindowStart
from stackgate.billing.service import BillingService
from stackgate.core.context import RequestContext
from stackgate.core.errors import Unauthorized
from stackgate.core.problem import problem_responses

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def _service(request: Request) -> BillingService:
    service: BillingService = request.app.state.billing.service
    return service


async def _context(
    request: Request, token: Annotated[str | None, Depends(_bearer)]
) -> RequestContext:
    if not token:
        raise Unauthorized("send a bearer token: Authorization: Bearer <token>")
    request_id = getattr(request.state, "request_id", None)
    ctx: RequestContext = await request.app.state.billing.auth.authenticate(
        token, request_id=request_id
    )
    request.state.context = ctx
    return ctx


ServiceDep = Annotated[BillingService, Depends(_service)]
ContextDep = Annotated[RequestContext, Depends(_context)]

router = APIRouter(
    prefix="/api/v1/billing", tags=["billing"], responses=problem_responses(401, 422, 503)
)


@router.get(
    "/projects/{project_id}/usage",
    response_model=UsageRead,
    responses=problem_responses(400, 404),
)
async def project_usage(
    project_id: str,
    ctx: ContextDep,
    service: ServiceDep,
    start: Annotated[
        WindowStart | None,
        Query(
            description="Where the window starts: an RFC 3339 date-time "
            "(2026-12-06T10:00:00Z) or a date (2026-12-06: that day's 00:00 UTC). "
            "Default: the start of this month (UTC)."
        ),
    ] = None,
    end: Annotated[
        WindowEnd | None,
        Query(
            description="Where the window ends (excluded): an RFC 3339 date-time or a date, "
            "which includes that whole day (2026-12-06: up to 2026-12-07T00:00Z). Default: now."
        ),
    ] = None,
    hourly: Annotated[
        bool,
        Query(
            description="true (default): each resource lists its charges per UTC hour in "
            "`hours`; false: `hours` is empty and only each resource's and the total amounts "
            "are computed (a smaller answer for long windows)."
        ),
    ] = True,
) -> Any:
    """A project's running cost between start and end: per resource, per hour (`hourly`), and
    the total (exact to the second). Time a resource ran after now is never charged."""
    report = await service.project_usage(ctx, project_id, start=start, end=end, hourly=hourly)
    return {
        "project_id": project_id,
        "start": report.start,
        "end": report.end,
        "currency": report.currency,
        "total": rating.display(report.total),
        "resources": [
            {
                "resource_type": r.resource_type,
                "resource_id": r.resource_id,
                "seconds": r.seconds,
                "amount": rating.display(r.amount),
                "hours": [
                    {
                        "hour": c.hour,
                        "seconds": c.seconds,
                        "unit": c.unit,
                        "unit_price": c.unit_price,
                        "amount": rating.display(c.amount),
                    }
                    for c in r.hours
                ],
            }
            for r in report.resources
        ],
    }


@router.get("/orders", response_model=OrderList, responses=problem_responses(403))
async def list_orders(
    ctx: ContextDep,
    service: ServiceDep,
    user_id: Annotated[str | None, Query(max_length=255)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> Any:
    """Orders received on billing_queue, oldest first, optionally one user's (cloud admin
    only), listed as every list is: `items`, `total`, `page`, `per_page`."""
    result = await service.list_orders(ctx, user_id=user_id, page=page, per_page=per_page)
    return result.as_body()

"""Application credential routes: one's own /application-credentials."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from stackgate.core.deps import ContextDep, policy_doc
from stackgate.core.problem import problem_responses
from stackgate.identity.credentials.schemas import (
    CredentialCreate,
    CredentialCreated,
    CredentialList,
    CredentialRead,
)
from stackgate.identity.credentials.service import CredentialService


async def _credentials(request: Request) -> CredentialService:
    service: CredentialService = request.app.state.container.credentials
    return service


CredentialsDep = Annotated[CredentialService, Depends(_credentials)]
_ERR = problem_responses(400, 401, 403, 404, 409, 422)

router = APIRouter(prefix="/api/v1", responses=_ERR)


@router.get(
    "/application-credentials",
    response_model=CredentialList,
    tags=["application credentials"],
    openapi_extra=policy_doc("credential:self"),
)
async def list_credentials(ctx: ContextDep, credentials: CredentialsDep) -> object:
    """Your application credentials."""
    return {"items": await credentials.list_credentials(ctx)}


@router.post(
    "/application-credentials",
    response_model=CredentialCreated,
    status_code=status.HTTP_201_CREATED,
    tags=["application credentials"],
    openapi_extra=policy_doc("credential:self"),
)
async def create_credential(
    data: CredentialCreate, ctx: ContextDep, credentials: CredentialsDep
) -> object:
    """An API key scoped to your token's project; the secret is shown only in this answer."""
    credential, secret = await credentials.create_credential(ctx, data)
    body = CredentialRead.model_validate(credential).model_dump()
    return {**body, "secret": secret}


@router.get(
    "/application-credentials/{credential_id}",
    response_model=CredentialRead,
    tags=["application credentials"],
    openapi_extra=policy_doc("credential:self"),
)
async def get_credential(
    credential_id: str, ctx: ContextDep, credentials: CredentialsDep
) -> object:
    """One of your application credentials."""
    return await credentials.get_credential(ctx, credential_id)


@router.delete(
    "/application-credentials/{credential_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["application credentials"],
    openapi_extra=policy_doc("credential:self"),
)
async def revoke_credential(
    credential_id: str, ctx: ContextDep, credentials: CredentialsDep
) -> Response:
    """Revoke one of your application credentials."""
    await credentials.revoke_credential(ctx, credential_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

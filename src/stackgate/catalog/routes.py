"""Catalog HTTP routes: /api/v1/flavors and /api/v1/images."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from stackgate.catalog.schemas import (
    FlavorCreate,
    FlavorList,
    FlavorRead,
    FlavorUpdate,
    ImageCreate,
    ImageList,
    ImageRead,
    ImageUpdate,
)
from stackgate.catalog.service import CatalogService
from stackgate.core.deps import ContextDep, page_params, policy_doc
from stackgate.core.pagination import PageRequest
from stackgate.core.problem import problem_responses


async def _service(request: Request) -> CatalogService:
    service: CatalogService = request.app.state.container.catalog
    return service


ServiceDep = Annotated[CatalogService, Depends(_service)]
FlavorPage = Annotated[
    PageRequest, Depends(page_params(["name", "created_at", "vcpus", "ram_mb", "disk_gb"], "vcpus"))
]
ImagePage = Annotated[PageRequest, Depends(page_params(["name", "created_at", "status"], "name"))]
NameFilter = Annotated[str | None, Query(max_length=255, description="Name substring.")]

router = APIRouter(prefix="/api/v1", responses=problem_responses(400, 422))


@router.get(
    "/flavors",
    response_model=FlavorList,
    tags=["catalog"],
    openapi_extra=policy_doc("flavor:read"),
)
async def list_flavors(
    ctx: ContextDep, service: ServiceDep, page: FlavorPage, name: NameFilter = None
) -> object:
    """List flavors."""
    result = await service.list_flavors(ctx, name=name, page=page)
    return result.as_body()


@router.post(
    "/flavors",
    response_model=FlavorRead,
    status_code=status.HTTP_201_CREATED,
    tags=["catalog"],
    responses=problem_responses(409),
    openapi_extra=policy_doc("flavor:write"),
)
async def create_flavor(
    data: FlavorCreate, ctx: ContextDep, service: ServiceDep, response: Response
) -> object:
    """Create a flavor."""
    flavor = await service.create_flavor(ctx, data)
    response.headers["Location"] = f"/api/v1/flavors/{flavor.id}"
    return flavor


@router.get(
    "/flavors/{flavor_id}",
    response_model=FlavorRead,
    tags=["catalog"],
    responses=problem_responses(404),
    openapi_extra=policy_doc("flavor:read"),
)
async def get_flavor(flavor_id: str, ctx: ContextDep, service: ServiceDep) -> object:
    """Show a flavor (by id or name)."""
    return await service.get_flavor(ctx, flavor_id)


@router.put(
    "/flavors/{flavor_id}",
    response_model=FlavorRead,
    tags=["catalog"],
    responses=problem_responses(404, 409),
    openapi_extra=policy_doc("flavor:write"),
)
async def update_flavor(
    flavor_id: str, data: FlavorUpdate, ctx: ContextDep, service: ServiceDep
) -> object:
    """Replace a flavor; existing servers keep their copy."""
    return await service.update_flavor(ctx, flavor_id, data)


@router.delete(
    "/flavors/{flavor_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["catalog"],
    responses=problem_responses(404, 409),
    openapi_extra=policy_doc("flavor:write"),
)
async def delete_flavor(flavor_id: str, ctx: ContextDep, service: ServiceDep) -> Response:
    """Delete a flavor no server uses (409 otherwise)."""
    await service.delete_flavor(ctx, flavor_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/images", response_model=ImageList, tags=["catalog"], openapi_extra=policy_doc("image:read")
)
async def list_images(
    ctx: ContextDep,
    service: ServiceDep,
    page: ImagePage,
    name: NameFilter = None,
    status_: Annotated[str | None, Query(alias="status", max_length=32)] = None,
) -> object:
    """List images."""
    result = await service.list_images(ctx, name=name, status=status_, page=page)
    return result.as_body()


@router.post(
    "/images",
    response_model=ImageRead,
    status_code=status.HTTP_201_CREATED,
    tags=["catalog"],
    openapi_extra=policy_doc("image:create"),
)
async def create_image(
    data: ImageCreate, ctx: ContextDep, service: ServiceDep, response: Response
) -> object:
    """Register an image."""
    image = await service.create_image(ctx, data)
    response.headers["Location"] = f"/api/v1/images/{image.id}"
    return image


@router.get(
    "/images/{image_id}",
    response_model=ImageRead,
    tags=["catalog"],
    responses=problem_responses(404),
    openapi_extra=policy_doc("image:read"),
)
async def get_image(image_id: str, ctx: ContextDep, service: ServiceDep) -> object:
    """Show an image."""
    return await service.get_image(ctx, image_id)


@router.put(
    "/images/{image_id}",
    response_model=ImageRead,
    tags=["catalog"],
    responses=problem_responses(404),
    openapi_extra=policy_doc("image:create"),
)
async def update_image(
    image_id: str, data: ImageUpdate, ctx: ContextDep, service: ServiceDep
) -> object:
    """Replace an image's properties."""
    return await service.update_image(ctx, image_id, data)


@router.delete(
    "/images/{image_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["catalog"],
    responses=problem_responses(404, 409),
    openapi_extra=policy_doc("image:create"),
)
async def delete_image(image_id: str, ctx: ContextDep, service: ServiceDep) -> Response:
    """Delete an image no server uses (409 otherwise)."""
    await service.delete_image(ctx, image_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

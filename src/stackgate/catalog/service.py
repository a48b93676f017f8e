"""Catalog use cases: flavors and images (one unit of work each). The lookups other features
make inside their own unit of work are in catalog.public."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.catalog.errors import CatalogInUse, FlavorNameTaken, FlavorNotFound, ImageNotFound
from stackgate.catalog.models import Flavor, Image
from stackgate.catalog.repository import FlavorRepository, ImageRepository
from stackgate.catalog.schemas import FlavorCreate, FlavorUpdate, ImageCreate, ImageUpdate
from stackgate.core.context import RequestContext
from stackgate.core.operations import OperationFactory
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.uow import UnitOfWork
from stackgate.identity.public import policy


class CatalogUsage(Protocol):
    """How many live servers use a flavor or image (answered by compute, wired in bootstrap)."""

    async def __call__(
        self, uow: UnitOfWork, *, flavor_id: str | None = None, image_id: str | None = None
    ) -> int: ...


class CatalogUoW(UnitOfWork):
    flavors: FlavorRepository
    images: ImageRepository

    def _attach(self, session: AsyncSession) -> None:
        self.flavors = FlavorRepository(session)
        self.images = ImageRepository(session)


class CatalogService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        usage: CatalogUsage,
        operations: OperationFactory,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._usage = usage
        self._operations = operations

    def _uow(self) -> CatalogUoW:
        return CatalogUoW(self._sessionmaker)

    # flavors

    async def list_flavors(
        self, ctx: RequestContext, *, name: str | None, page: PageRequest
    ) -> PageResult[Flavor]:
        """Flavors, filtered by name substring."""
        policy.enforce(ctx, "flavor:read")
        async with self._uow() as uow:
            return await uow.flavors.list(name=name, page=page)

    async def get_flavor(self, ctx: RequestContext, flavor_id: str) -> Flavor:
        """One flavor by id or name."""
        policy.enforce(ctx, "flavor:read")
        async with self._uow() as uow:
            flavor = await uow.flavors.find(flavor_id)
            if flavor is None:
                raise FlavorNotFound(flavor_id)
            return flavor

    async def create_flavor(self, ctx: RequestContext, data: FlavorCreate) -> Flavor:
        """Add a flavor; names are unique (cloud admin, as in Nova)."""
        policy.enforce(ctx, "flavor:write")
        async with self._uow() as uow:
            if await uow.flavors.name_taken(data.name):
                raise FlavorNameTaken(data.name)
            flavor = Flavor(**data.model_dump())
            uow.flavors.add(flavor)
            await uow.commit()
            return flavor

    async def update_flavor(
        self, ctx: RequestContext, flavor_id: str, data: FlavorUpdate
    ) -> Flavor:
        """Replace a flavor's properties."""
        policy.enforce(ctx, "flavor:write")
        async with self._uow() as uow:
            flavor = await uow.flavors.get(flavor_id)
            if flavor is None:
                raise FlavorNotFound(flavor_id)
            if await uow.flavors.name_taken(data.name, exclude_id=flavor.id):
                raise FlavorNameTaken(data.name)
            for key, value in data.model_dump().items():
                setattr(flavor, key, value)
            await uow.commit()
            return flavor

    async def delete_flavor(self, ctx: RequestContext, flavor_id: str) -> None:
        """Remove a flavor no live server uses."""
        policy.enforce(ctx, "flavor:write")
        async with self._uow() as uow:
            flavor = await uow.flavors.get(flavor_id)
            if flavor is None:
                raise FlavorNotFound(flavor_id)
            in_use = await self._usage(uow, flavor_id=flavor.id)
            if in_use:
                raise CatalogInUse("flavor", flavor.id, in_use)
            await uow.flavors.remove(flavor)
            await uow.commit()

    # images

    async def list_images(
        self, ctx: RequestContext, *, name: str | None, status: str | None, page: PageRequest
    ) -> PageResult[Image]:
        """Public images and the project's own, filtered by name substring and status."""
        policy.enforce(ctx, "image:read")
        async with self._uow() as uow:
            return await uow.images.list(
                name=name, status=status, page=page, visible_to=_visible_to(ctx)
            )

    async def get_image(self, ctx: RequestContext, image_id: str) -> Image:
        """One image the caller may see."""
        policy.enforce(ctx, "image:read")
        async with self._uow() as uow:
            return await self._visible(uow, ctx, image_id)

    async def _visible(self, uow: CatalogUoW, ctx: RequestContext, image_id: str) -> Image:
        image = await uow.images.get(image_id)
        if image is None or not may_see(ctx, image):
            raise ImageNotFound(image_id)
        return image

    @staticmethod
    def _may_change(ctx: RequestContext, image: Image) -> None:
        """A project's members manage its private images; public ones are the admin's."""
        if not (image.visibility == "private" and image.owner_project_id == ctx.project_id):
            policy.enforce(ctx, "image:write")

    async def create_image(self, ctx: RequestContext, data: ImageCreate) -> Image:
        """Register an image (active at once: there is no upload in the simulator); members
        register private images, only the cloud admin public ones."""
        policy.enforce(ctx, "image:create")
        if data.visibility != "private":
            policy.enforce(ctx, "image:write")
        async with self._uow() as uow:
            image = Image(**data.model_dump(), status="active", owner_project_id=ctx.project_id)
            uow.images.add(image)
            await uow.commit()
            return image

    async def update_image(self, ctx: RequestContext, image_id: str, data: ImageUpdate) -> Image:
        """Replace an image's properties."""
        policy.enforce(ctx, "image:create")
        async with self._uow() as uow:
            image = await self._visible(uow, ctx, image_id)
            self._may_change(ctx, image)
            if data.visibility != "private":
                policy.enforce(ctx, "image:write")
            for key, value in data.model_dump().items():
                setattr(image, key, value)
            await uow.commit()
            return image

    async def delete_image(self, ctx: RequestContext, image_id: str) -> None:
        """Remove an image no live server uses; a snapshot is also deleted in the cloud."""
        policy.enforce(ctx, "image:create")
        async with self._uow() as uow:
            image = await self._visible(uow, ctx, image_id)
            self._may_change(ctx, image)
            in_use = await self._usage(uow, image_id=image.id)
            if in_use:
                raise CatalogInUse("image", image.id, in_use)
            if image.provider_id:
                uow.operations.add(
                    self._operations.due_now(
                        project_id=ctx.project_id,
                        user_id=ctx.user_id,
                        request_id=ctx.request_id,
                        resource_type="image",
                        resource_id=image.id,
                        action="delete",
                        params={"provider_id": image.provider_id},
                    )
                )
            await uow.images.remove(image)
            await uow.commit()


def _visible_to(ctx: RequestContext) -> str | None:
    """None: every image (the cloud admin); else public ones and this project's."""
    return None if ctx.is_admin else ctx.project_id


def may_see(ctx: RequestContext, image: Image) -> bool:
    """Public and shared images, the project's own private ones; every image for the admin."""
    return (
        ctx.is_admin or image.visibility != "private" or (image.owner_project_id == ctx.project_id)
    )

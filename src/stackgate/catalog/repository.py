"""Catalog storage."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.catalog.models import Flavor, Image
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.repository import like_pattern, paginate

FLAVOR_SORTS = {
    "name": Flavor.name,
    "created_at": Flavor.created_at,
    "vcpus": Flavor.vcpus,
    "ram_mb": Flavor.ram_mb,
    "disk_gb": Flavor.disk_gb,
}
IMAGE_SORTS = {"name": Image.name, "created_at": Image.created_at, "status": Image.status}


class FlavorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, flavor_id: str) -> Flavor | None:
        return await self.session.get(Flavor, flavor_id)

    async def find(self, ref: str) -> Flavor | None:
        """By id, else by name (names are unique, as in Nova)."""
        flavor = await self.session.get(Flavor, ref) if len(ref) == 36 else None
        if flavor is None:
            flavor = (await self.session.scalars(select(Flavor).where(Flavor.name == ref))).first()
        return flavor

    async def names(self) -> Sequence[str]:
        """Every flavor's name (the close matches of an unknown one)."""
        return (await self.session.scalars(select(Flavor.name))).all()

    async def name_taken(self, name: str, *, exclude_id: str | None = None) -> bool:
        stmt = select(Flavor.id).where(Flavor.name == name)
        if exclude_id is not None:
            stmt = stmt.where(Flavor.id != exclude_id)
        return (await self.session.scalars(stmt)).first() is not None

    async def list(self, *, name: str | None, page: PageRequest) -> PageResult[Flavor]:
        stmt = select(Flavor)
        if name:
            stmt = stmt.where(Flavor.name.ilike(like_pattern(name), escape="\\"))
        return await paginate(
            self.session, stmt, columns=FLAVOR_SORTS, id_column=Flavor.id, request=page
        )

    def add(self, flavor: Flavor) -> None:
        self.session.add(flavor)

    async def remove(self, flavor: Flavor) -> None:
        await self.session.delete(flavor)


class ImageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, image_id: str) -> Image | None:
        return await self.session.get(Image, image_id)

    async def find(self, ref: str) -> Sequence[Image]:
        """By id, else every image with that name (Glance allows duplicate names)."""
        image = await self.session.get(Image, ref) if len(ref) == 36 else None
        if image is not None:
            return [image]
        return (await self.session.scalars(select(Image).where(Image.name == ref))).all()

    async def names(self, *, visible_to: str | None) -> Sequence[str]:
        """The names of the images `visible_to` a project (None: all of them)."""
        stmt = select(Image.name)
        if visible_to is not None:
            stmt = stmt.where(
                or_(Image.visibility != "private", Image.owner_project_id == visible_to)
            )
        return (await self.session.scalars(stmt)).all()

    async def list(
        self,
        *,
        name: str | None,
        status: str | None,
        page: PageRequest,
        visible_to: str | None,
    ) -> PageResult[Image]:
        """Images, all of them or those `visible_to` a project (public ones and its own)."""
        stmt = select(Image)
        if visible_to is not None:
            stmt = stmt.where(
                or_(Image.visibility != "private", Image.owner_project_id == visible_to)
            )
        if name:
            stmt = stmt.where(Image.name.ilike(like_pattern(name), escape="\\"))
        if status:
            stmt = stmt.where(Image.status == status)
        return await paginate(
            self.session, stmt, columns=IMAGE_SORTS, id_column=Image.id, request=page
        )

    def add(self, image: Image) -> None:
        self.session.add(image)

    async def remove(self, image: Image) -> None:
        await self.session.delete(image)

    async def snapshots_of(self, server_id: str) -> Sequence[Image]:
        stmt = (
            select(Image)
            .where(Image.source_server_id == server_id)
            .order_by(Image.created_at.desc(), Image.id.desc())
        )
        return (await self.session.scalars(stmt)).all()

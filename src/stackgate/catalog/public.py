"""What other features may use of the catalog (compute and block storage resolve flavors and
images inside their own unit of work; a server snapshot makes an image), and the only module of
it they import."""

from __future__ import annotations

from collections.abc import Iterable

from stackgate.catalog.errors import ImageNotActive, UnknownFlavor, UnknownImage
from stackgate.catalog.models import Flavor, Image
from stackgate.catalog.repository import FlavorRepository, ImageRepository
from stackgate.catalog.schemas import ImageList, ImageRead
from stackgate.catalog.service import may_see
from stackgate.core.context import RequestContext
from stackgate.core.errors import AmbiguousReference
from stackgate.core.ids import new_id
from stackgate.core.uow import UnitOfWork

__all__ = [
    "Flavor",
    "Image",
    "ImageList",
    "ImageRead",
    "add_snapshot_image",
    "cloud_image_refs",
    "fail_snapshot",
    "get_image_row",
    "resolve_flavor",
    "resolve_image",
    "snapshots_of",
]


async def resolve_flavor(uow: UnitOfWork, ref: str, *, field: str = "flavor") -> Flavor:
    """The flavor a request names, by id or name; unknown -> 400 naming the field."""
    repo = FlavorRepository(uow.session)
    flavor = await repo.find(ref)
    if flavor is None:
        raise UnknownFlavor(field, ref, await repo.names())
    return flavor


async def resolve_image(
    uow: UnitOfWork, ctx: RequestContext, ref: str, *, field: str = "image"
) -> Image:
    """The active image a request names, by id or unique name, among those the caller may
    see; otherwise 400."""
    repo = ImageRepository(uow.session)
    matches = [i for i in await repo.find(ref) if may_see(ctx, i)]
    if not matches:
        visible_to = None if ctx.is_admin else ctx.project_id
        raise UnknownImage(field, ref, await repo.names(visible_to=visible_to))
    if len(matches) > 1:
        raise AmbiguousReference(field, ref)
    image = matches[0]
    if image.status != "active":
        raise ImageNotActive(ref, image.status)
    return image


def add_snapshot_image(
    uow: UnitOfWork,
    *,
    name: str,
    project_id: str,
    server_id: str,
    base: Image | None,
    min_disk_gb: int,
) -> Image:
    """A snapshot's image row, queued until the cloud has uploaded it (Glance's lifecycle)."""
    image = Image(
        id=new_id(),
        name=name,
        status="queued",
        visibility="private",
        owner_project_id=project_id,
        image_type="snapshot",
        source_server_id=server_id,
        min_disk_gb=min_disk_gb,
        min_ram_mb=base.min_ram_mb if base else 0,
        disk_format=base.disk_format if base else "qcow2",
        os_distro=base.os_distro if base else None,
    )
    uow.session.add(image)
    return image


async def cloud_image_refs(uow: UnitOfWork, image_ids: Iterable[object]) -> dict[str, str]:
    """Our image ids -> the cloud's, for those whose cloud id differs (snapshots)."""
    refs: dict[str, str] = {}
    for image_id in {i for i in image_ids if isinstance(i, str)}:
        image = await ImageRepository(uow.session).get(image_id)
        if image is not None and image.provider_id and image.provider_id != image.id:
            refs[image.id] = image.provider_id
    return refs


async def get_image_row(uow: UnitOfWork, image_id: str) -> Image | None:
    """An image row for the worker to update (snapshot progress)."""
    return await ImageRepository(uow.session).get(image_id)


async def fail_snapshot(uow: UnitOfWork, image_id: object) -> None:
    """A snapshot that will never finish: its queued image is killed (Glance's failed upload)."""
    if not isinstance(image_id, str):
        return
    image = await ImageRepository(uow.session).get(image_id)
    if image is not None and image.status in ("queued", "saving"):
        image.status = "killed"


async def snapshots_of(uow: UnitOfWork, server_id: str) -> list[Image]:
    """Images made from a server, newest first."""
    return list(await ImageRepository(uow.session).snapshots_of(server_id))

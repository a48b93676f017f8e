"""conn.image through openstacksdk: the images StackGate reads (snapshots) and deletes."""

from __future__ import annotations

from typing import Any

from stackgate.providers.base import ProviderImage
from stackgate.providers.openstack.session import CloudSession


def image_dto(image: Any) -> ProviderImage:
    """An SDK Image as our DTO (Glance's size is in bytes, None before the upload)."""
    size = image.size
    return ProviderImage(
        id=str(image.id),
        name=str(image.name or ""),
        status=str(image.status),
        size_bytes=int(size) if size is not None else None,
    )


class OpenStackImage:
    def __init__(self, session: CloudSession) -> None:
        self._session = session

    async def get_image(self, image_id: str) -> ProviderImage:
        """An image; raises ProviderNotFound once it is gone."""
        session = self._session
        found = await session.call(
            lambda: session.base().image.get_image(image_id), idempotent=True
        )
        return image_dto(found)

    async def delete_image(self, image_id: str) -> None:
        """Delete an image; a missing image is not an error."""
        session = self._session
        await session.call(
            lambda: session.base().image.delete_image(image_id, ignore_missing=True),
            idempotent=True,
        )

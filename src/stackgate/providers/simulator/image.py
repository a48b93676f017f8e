"""The simulated image proxy (`conn.image`): snapshots as Glance shows them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.providers.base import ProviderImage, ProviderNotFound
from stackgate.providers.simulator.env import SimEnv
from stackgate.providers.simulator.lifecycle import IMAGE_ACTIVE, settle
from stackgate.providers.simulator.tables import SimImage, SimServer
from stackgate.providers.simulator.timing import elapsed_fraction


def _not_found(image_id: str) -> ProviderNotFound:
    return ProviderNotFound(f"No image found with ID {image_id}", status_code=404)


def _is_due(image: SimImage, now: datetime) -> bool:
    return image.status != IMAGE_ACTIVE and image.ready_at is not None and image.ready_at <= now


def _to_dto(image: SimImage, now: datetime) -> ProviderImage:
    status = image.status
    # Glance moves a snapshot queued -> saving -> active; the upload is the second half.
    halfway = image.ready_at is not None and (
        elapsed_fraction(image.created_at, image.ready_at, now) >= 0.5
    )
    if status != IMAGE_ACTIVE and halfway:
        status = "saving"
    return ProviderImage(id=image.id, name=image.name, status=status, size_bytes=image.size)


class SimulatorImage:
    """Images made by createImage; the server's pending snapshot decides when one is ready."""

    def __init__(self, env: SimEnv) -> None:
        self._env = env

    async def get_image(self, image_id: str) -> ProviderImage:
        """An image; raises ProviderNotFound once it is gone."""
        env = self._env
        env.faults.before_call("get_image")
        now = env.clock.now()

        async def read(session: AsyncSession) -> ProviderImage | str | None:
            image = await session.get(SimImage, image_id)
            if image is None:
                raise _not_found(image_id)
            # Not ready yet, or ready and waiting for its server's snapshot to be applied.
            return image.server_id if _is_due(image, now) else _to_dto(image, now)

        async def finish(session: AsyncSession) -> ProviderImage | None:
            # Server first, then image: the same lock order as a snapshot finishing.
            if isinstance(found, str):
                server = await session.get(
                    SimServer, found, with_for_update=True, populate_existing=True
                )
                if server is not None:
                    await settle(session, server, now)
            image = await session.get(
                SimImage, image_id, with_for_update=True, populate_existing=True
            )
            if image is None or not _is_due(image, now):
                return None if image is None else _to_dto(image, now)
            # Its snapshot is no longer running anywhere: Nova would have deleted it.
            await session.delete(image)
            return None

        found = await env.store.run(read)
        if isinstance(found, ProviderImage):
            return found
        done = await env.store.run(finish, write=True)
        if done is None:
            raise _not_found(image_id)  # a failed snapshot takes its image with it
        return done

    async def delete_image(self, image_id: str) -> None:
        """Delete an image; a missing image is not an error."""
        env = self._env
        env.faults.before_call("delete_image")

        async def work(session: AsyncSession) -> None:
            image = await session.get(SimImage, image_id, with_for_update=True)
            if image is not None:
                await session.delete(image)

        await env.store.run(work, write=True)
        env.faults.after_commit("delete_image")

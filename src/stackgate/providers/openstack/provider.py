"""OpenStackProvider: the provider contract on a real cloud through openstacksdk."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from stackgate.config import Settings
from stackgate.providers.base import ComputeProvider, ImageProvider, Provider
from stackgate.providers.network import NetworkProvider
from stackgate.providers.openstack.block_storage import OpenStackBlockStorage
from stackgate.providers.openstack.compute import OpenStackCompute
from stackgate.providers.openstack.image import OpenStackImage
from stackgate.providers.openstack.network import OpenStackNetwork
from stackgate.providers.openstack.session import CloudSession
from stackgate.providers.storage import BlockStorageProvider


class OpenStackProvider:
    """One OpenStack cloud (DESIGN.md 2: nothing above the provider changes)."""

    name = "openstack"
    compute: ComputeProvider
    image: ImageProvider
    block_storage: BlockStorageProvider
    network: NetworkProvider

    def __init__(self, session: CloudSession) -> None:
        self.session = session
        self.compute = OpenStackCompute(session)
        self.image = OpenStackImage(session)
        self.block_storage = OpenStackBlockStorage(session)
        self.network = OpenStackNetwork(session)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, connect_kwargs: dict[str, Any] | None = None
    ) -> OpenStackProvider:
        """Configured by STACKGATE_OS_* (and clouds.yaml / OS_* as every OpenStack tool is);
        `connect_kwargs` are passed to `openstack.connect` as they are (tests)."""
        return cls(
            CloudSession(
                cloud=settings.os_cloud,
                connect_kwargs=connect_kwargs,
                threads=settings.os_threads,
                call_timeout=settings.os_call_timeout,
                project_prefix=settings.os_project_prefix,
                member_role=settings.os_member_role,
            )
        )

    async def start(self) -> None:
        """Check the configuration (credentials or a clouds.yaml cloud) without calling the
        cloud: a process refuses to start without one, but starts (and reports not ready)
        while the cloud is away."""
        await asyncio.to_thread(self.session.check_config)

    async def check(self) -> None:
        """Authenticate and ask Nova for one flavor: the cloud answers, with our credentials."""
        await self.session.call(
            lambda: list(self.session.base().compute.flavors(details=False, limit=1)),
        )

    async def close(self) -> None:
        await self.session.close()


if TYPE_CHECKING:
    _conforms: type[Provider] = OpenStackProvider

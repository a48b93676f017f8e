"""What a server holds of the other services: its ports (Neutron) and volumes (Cinder).

Nova binds the ports it is given at boot and attaches the boot volume as /dev/vda; when the
server goes (or its build fails) it unbinds ports it did not create (device_id cleared, DOWN)
and detaches every volume (available again; deleting it is the caller's business).
Checks come first and changes after, so a refusal leaves nothing half bound.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.providers.base import ImageSpec, ProviderBadRequest, ProviderConflict
from stackgate.providers.simulator.netcommon import ACTIVE, COMPUTE_OWNER, DOWN
from stackgate.providers.simulator.tables import SimPort, SimVolume
from stackgate.providers.simulator.volumes import (
    AVAILABLE,
    IN_USE,
    ROOT_DEVICE,
    find_volume,
    invalid_volume,
)


@dataclass(slots=True)
class BootResources:
    """The ports and boot volume a create checked, to be bound once the server exists."""

    ports: list[SimPort]
    volume: SimVolume | None

    @property
    def address(self) -> str | None:
        """The server's address: the first port's first fixed IP (IPv4 preferred)."""
        if not self.ports or not self.ports[0].fixed_ips:
            return None
        addresses = [str(a) for _, a in self.ports[0].fixed_ips]
        v4 = [a for a in addresses if ipaddress.ip_address(a).version == 4]
        return (v4 or addresses)[0]


async def check_boot_resources(
    session: AsyncSession,
    port_ids: Sequence[str],
    volume_id: str | None,
    image: ImageSpec,
    now: datetime,
) -> BootResources:
    """Lock and check the ports (exist, unbound) and the boot volume (available, bootable)."""
    if len(set(port_ids)) != len(port_ids):
        raise ProviderBadRequest("Duplicate port ids in the request.", status_code=400)
    stmt = select(SimPort).where(SimPort.id.in_(list(port_ids))).order_by(SimPort.id)
    found = {p.id: p for p in (await session.scalars(stmt.with_for_update())).all()}
    ports: list[SimPort] = []
    for port_id in port_ids:
        port = found.get(port_id)
        if port is None:
            raise ProviderBadRequest(f"Port id {port_id} could not be found.", status_code=400)
        if port.device_id:
            raise ProviderConflict(f"Port {port_id} is still in use.", status_code=409)
        ports.append(port)
    volume = None
    if volume_id is not None:
        volume = await find_volume(session, volume_id, now)
        if volume is None:  # Nova's InvalidBDMVolume: a 400, not the volume's 404
            raise ProviderBadRequest(
                f"Block Device Mapping is Invalid: failed to get volume {volume_id}.",
                status_code=400,
            )
        if volume.status != AVAILABLE:
            raise invalid_volume(
                f"Volume {volume.id} status must be 'available'. Currently in '{volume.status}'"
            )
        if not volume.bootable:
            raise ProviderBadRequest(
                f"Block Device Mapping is Invalid: Volume {volume.id} is not bootable.",
                status_code=400,
            )
        if volume.size_gb < image.min_disk_gb:
            raise ProviderBadRequest(
                "Volume is smaller than the minimum size specified in image metadata. "
                f"Volume size is {volume.size_gb * 2**30} bytes, minimum size is "
                f"{image.min_disk_gb * 2**30} bytes.",
                status_code=400,
            )
    return BootResources(ports=ports, volume=volume)


def bind(resources: BootResources, server_id: str) -> None:
    """Ports bound and ACTIVE; the boot volume in-use as the root device."""
    for port in resources.ports:
        port.device_id = server_id
        port.device_owner = COMPUTE_OWNER
        port.status = ACTIVE
    if resources.volume is not None:
        volume = resources.volume
        volume.status, volume.server_id, volume.device = IN_USE, server_id, ROOT_DEVICE


async def release_server(session: AsyncSession, server_id: str) -> None:
    """Unbind the server's ports and detach its volumes (the root volume too)."""
    await session.execute(
        update(SimPort)
        .where(SimPort.device_id == server_id)
        .values(device_id=None, device_owner="", status=DOWN)
    )
    # An attach or detach still running ends here as well: the server is gone.
    await session.execute(
        update(SimVolume)
        .where(SimVolume.server_id == server_id)
        .values(status=AVAILABLE, server_id=None, device=None, action=None, ends_at=None, params={})
    )

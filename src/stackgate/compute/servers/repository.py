"""What a server body shows beyond its row: its addresses and security groups (network's)
and its volumes (block storage's), read for a whole page at once."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.block_storage import public as block_storage_service
from stackgate.compute.models import Server
from stackgate.compute.servers.schemas import ServerDetail
from stackgate.network import public as network


async def details_of(
    session: AsyncSession, servers: Sequence[Server], *, cloud_admin: bool
) -> list[ServerDetail]:
    """Server bodies' extras (addresses, groups, volumes): one query per feature per page;
    for a cloud admin, also the cloud's own id of each server."""
    ids = [server.id for server in servers]
    if not ids:
        return []
    networking = await network.server_networking(session, ids)
    volumes = await block_storage_service.volumes_of_servers(session, ids)
    found = []
    for server in servers:
        net = networking.get(server.id)
        found.append(
            ServerDetail(
                server=server,
                provider_id=server.provider_id if cloud_admin else None,
                addresses=dict(net.addresses) if net is not None else {},
                security_groups=list(net.security_groups) if net is not None else [],
                volumes=[
                    {
                        "id": volume.id,
                        "device": volume.device,
                        "delete_on_termination": volume.delete_on_termination,
                    }
                    for volume in volumes.get(server.id, [])
                ],
            )
        )
    return found

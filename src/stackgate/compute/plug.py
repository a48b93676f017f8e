"""What a new server is plugged into, on the request side: its ports (one per network, with
the security groups), its boot volume and its data volumes' reservations; and the extras of a
server body (addresses, groups, volumes) read from the network and block-storage features."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.block_storage import public as block_storage_service
from stackgate.catalog.public import Image
from stackgate.compute.models import Server
from stackgate.compute.schemas import ServerCreate, ServerDetail
from stackgate.core.context import RequestContext
from stackgate.core.errors import InvalidInput
from stackgate.core.operations import OperationFactory
from stackgate.core.uow import UnitOfWork
from stackgate.network import public as network


async def plug(
    uow: UnitOfWork,
    ctx: RequestContext,
    server: Server,
    data: ServerCreate,
    image: Image,
    operations: OperationFactory,
) -> dict[str, Any]:
    """Ports (one per network, with the groups), the boot volume and the data volumes'
    reservations of a new server; returns the create operation's params naming them."""
    if data.networks is None:
        networks = [
            await network.ensure_private_network(uow, ctx.project_id, operations=operations)
        ]
    else:
        networks = await network.resolve_networks(uow, ctx, data.networks)
    # No groups named means the project's default group (made on first use).
    groups = await network.resolve_groups(
        uow, ctx, list(data.security_groups or []), operations=operations
    )
    port_ids = []
    for net in networks:
        port = await network.create_server_port(
            uow, ctx, net, groups, server.id, ctx.user_id, operations=operations
        )
        port_ids.append(port.id)
    boot_volume_id = None
    if data.boot_volume is not None:
        boot = await block_storage_service.create_boot_volume(
            uow,
            ctx,
            image_id=image.id,
            image_min_disk_gb=image.min_disk_gb,
            size_gb=data.boot_volume.size,
            server_id=server.id,
            delete_on_termination=data.boot_volume.delete_on_termination,
        )
        boot_volume_id = boot.id
    if len(set(data.volumes)) != len(data.volumes):
        raise InvalidInput("volumes: a volume is listed twice", field="volumes")
    volume_ids: list[str] = []
    if data.volumes:
        reserved = await block_storage_service.reserve_volumes(uow, ctx, data.volumes, server.id)
        volume_ids = [volume.id for volume in reserved]
    return {"port_ids": port_ids, "boot_volume_id": boot_volume_id, "volume_ids": volume_ids}


async def details_of(session: AsyncSession, servers: Sequence[Server]) -> list[ServerDetail]:
    """Server bodies' extras (addresses, groups, volumes): one query per feature per page."""
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


def first_fixed_address(detail: ServerDetail) -> str | None:
    """The server's first fixed address (the `ip_address` field kept from the seed API)."""
    for addresses in detail.addresses.values():
        for address in addresses:
            if address.get("type") == "fixed":
                return str(address["addr"])
    return None

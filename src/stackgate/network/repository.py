"""What every network sub-feature reads of its operations and addresses: whether a resource
is being deleted, superseding its pending work, freeing what it held, and the floating IPs on
ports (a port's delete lets go of them; a server's body shows them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.uow import UnitOfWork
from stackgate.network.models import FloatingIP, IPAllocation


async def deleting(uow: UnitOfWork, resource_id: str) -> bool:
    """A delete of the resource is queued: requests treat it as gone."""
    return any(op.action == "delete" for op in await uow.operations.open_for_resource(resource_id))


async def supersede(uow: UnitOfWork, resource_id: str, reason: str, *, now: datetime) -> bool:
    """Cancel the resource's open operations; True when a delete is already queued."""
    for op in await uow.operations.open_for_resource(resource_id):
        if op.action == "delete":
            return True
        op.cancel(reason, now=now)
    return False


async def cancel_pending(
    uow: UnitOfWork, resource_id: str, actions: tuple[str, ...], reason: str, *, now: datetime
) -> None:
    """Cancel the resource's open operations of these actions (a newer request replaces them)."""
    for op in await uow.operations.open_for_resource(resource_id):
        if op.action in actions:
            op.cancel(reason, now=now)


async def release_addresses(session: AsyncSession, owner_id: str) -> None:
    """Free the addresses a port or a floating IP held."""
    await session.execute(delete(IPAllocation).where(IPAllocation.owner_id == owner_id))


async def floating_ips_on_ports(
    session: AsyncSession, port_ids: Sequence[str]
) -> Sequence[FloatingIP]:
    if not port_ids:
        return []
    stmt = select(FloatingIP).where(FloatingIP.port_id.in_(port_ids))
    return (await session.scalars(stmt)).all()

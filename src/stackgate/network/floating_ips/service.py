"""Floating IP use cases: allocate from an external network's pool, associate with a
server's port (one per fixed IP), disassociate, release. Association shows in the row at once
(the unique key enforces one floating IP per fixed IP); the status stays DOWN until the
worker has wired it in the cloud, then ACTIVE (as ML2/OVN report it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.context import RequestContext
from stackgate.core.errors import AmbiguousReference
from stackgate.core.ids import new_id
from stackgate.core.operations import OperationFactory
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.identity.public import policy, quotas
from stackgate.network.errors import UnknownNetworkReference
from stackgate.network.floating_ips.errors import (
    FixedIpAlreadyAssociated,
    FloatingIPNotFound,
    NotExternal,
    PortNotOfServer,
    ServerHasNoPort,
)
from stackgate.network.floating_ips.repository import FloatingIPRepository
from stackgate.network.floating_ips.schemas import FloatingIPAssociate, FloatingIPCreate
from stackgate.network.models import FloatingIP, Status
from stackgate.network.networks.service import NetworkUoW, network_usage
from stackgate.network.ports.repository import PortRepository
from stackgate.network.repository import cancel_pending, deleting, supersede
from stackgate.network.seed import PUBLIC_NETWORK_NAME

# The project of a live server, or None: compute answers it (network does not read servers).
ServerOwner = Callable[[AsyncSession, str], Awaitable[str | None]]


class FloatingIPUoW(NetworkUoW):
    ports: PortRepository
    floating_ips: FloatingIPRepository

    def _attach(self, session: AsyncSession) -> None:
        super()._attach(session)
        self.ports = PortRepository(session)
        self.floating_ips = FloatingIPRepository(session)


class FloatingIPService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        operations: OperationFactory,
        server_owner: ServerOwner,
        wakeup: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._operations = operations
        self._server_owner = server_owner
        self._wakeup = wakeup

    def uow(self) -> FloatingIPUoW:
        return FloatingIPUoW(self._sessionmaker)

    def _queue(
        self,
        uow: FloatingIPUoW,
        ctx: RequestContext,
        fip: FloatingIP,
        action: str,
        params: dict[str, Any] | None = None,
    ) -> None:
        uow.operations.add(
            self._operations.due_now(
                project_id=fip.project_id,
                resource_type="floating_ip",
                resource_id=fip.id,
                action=action,
                params=params,
                user_id=ctx.user_id,
                request_id=ctx.request_id,
            )
        )

    async def _settle_pending(self, uow: FloatingIPUoW, fip_id: str) -> None:
        """A newer association request replaces an older one not yet carried out."""
        await cancel_pending(
            uow,
            fip_id,
            ("associate", "disassociate"),
            "superseded by a newer request",
            now=self._operations.clock.now(),
        )

    async def _load(self, uow: FloatingIPUoW, ctx: RequestContext, fip_id: str) -> FloatingIP:
        fip = await uow.floating_ips.get(fip_id)
        if (
            fip is None
            or not (ctx.is_admin or fip.project_id == ctx.project_id)
            or await deleting(uow, fip.id)
        ):
            raise FloatingIPNotFound(fip_id)
        return fip

    async def create(self, ctx: RequestContext, data: FloatingIPCreate) -> FloatingIP:
        """Allocate an address of an external network's pool (default `public`), DOWN."""
        policy.enforce(ctx, "floating_ip:write")
        ref = data.network or PUBLIC_NETWORK_NAME
        async with self.uow() as uow:
            repo = uow.networks
            matches = list(await repo.find_networks(None if ctx.is_admin else ctx.project_id, ref))
            if not matches or await deleting(uow, matches[0].id):
                names = await repo.network_names(None if ctx.is_admin else ctx.project_id)
                raise UnknownNetworkReference("network", ref, names)
            if len(matches) > 1:
                raise AmbiguousReference("network", ref)
            network = matches[0]
            if not network.external:
                raise NotExternal(ref)
            await quotas.enforce(uow, ctx.project_id, {"floating_ips": 1}, network_usage)
            subnet = await repo.first_ipv4_subnet(network)
            fip_id = new_id()
            address = await repo.allocate(
                subnet.id, owner_type="floating_ip", owner_id=fip_id, field_name="network"
            )
            fip = FloatingIP(
                id=fip_id,
                project_id=ctx.project_id,
                floating_network_id=network.id,
                subnet_id=subnet.id,
                floating_ip_address=address,
                description=data.description,
                status=Status.DOWN,
            )
            uow.floating_ips.add(fip)
            await uow.flush()
            self._queue(uow, ctx, fip, "create")
            await uow.commit()
        self._wakeup()
        return fip

    async def list(
        self,
        ctx: RequestContext,
        *,
        status: str | None,
        port_id: str | None,
        page: PageRequest,
    ) -> PageResult[FloatingIP]:
        """The project's floating IPs."""
        policy.enforce(ctx, "floating_ip:read")
        async with self.uow() as uow:
            return await uow.floating_ips.list(
                ctx.project_id, status=status, port_id=port_id, page=page
            )

    async def get(self, ctx: RequestContext, fip_id: str) -> FloatingIP:
        """One floating IP of the project."""
        policy.enforce(ctx, "floating_ip:read")
        async with self.uow() as uow:
            return await self._load(uow, ctx, fip_id)

    async def associate(
        self, ctx: RequestContext, fip_id: str, data: FloatingIPAssociate
    ) -> FloatingIP:
        """Point the address at a server's port (its first one unless `port_id` says)."""
        policy.enforce(ctx, "floating_ip:write")
        async with self.uow() as uow:
            fip = await self._load(uow, ctx, fip_id)
            owner = await self._server_owner(uow.session, data.vm_id)
            if owner is None or not (ctx.is_admin or owner == fip.project_id):
                raise UnknownNetworkReference(
                    "vm_id", data.vm_id, kind="server", listed_at="/api/v1/vms"
                )
            ports = [
                p for p in await uow.ports.of_servers([data.vm_id]) if not await deleting(uow, p.id)
            ]
            if not ports:
                raise ServerHasNoPort(data.vm_id)
            port = ports[0]
            if data.port_id is not None:
                chosen = [p for p in ports if p.id == data.port_id]
                if not chosen:
                    raise PortNotOfServer(data.port_id, data.vm_id)
                port = chosen[0]
            fixed = [
                a.ip_address
                for a in await uow.networks.allocations_of([port.id])
                if ":" not in a.ip_address
            ]
            if not fixed:
                raise ServerHasNoPort(data.vm_id)
            other = await uow.floating_ips.on_fixed_ip(port.id, fixed[0])
            if other is not None and other.id != fip.id:
                raise FixedIpAlreadyAssociated(fixed[0], other.id)
            if other is not None:
                return fip  # already there (or on its way): nothing to do
            await self._settle_pending(uow, fip.id)
            fip.port_id, fip.fixed_ip_address, fip.server_id = port.id, fixed[0], data.vm_id
            fip.status = Status.DOWN
            try:
                await uow.flush()
            except IntegrityError as exc:  # a concurrent association of the same fixed IP
                raise FixedIpAlreadyAssociated(fixed[0], "(concurrent)") from exc
            params = {"port_id": port.id, "fixed_ip_address": fixed[0]}
            self._queue(uow, ctx, fip, "associate", params)
            await uow.commit()
        self._wakeup()
        return fip

    async def disassociate(self, ctx: RequestContext, fip_id: str) -> FloatingIP:
        """Detach the address from its port (DOWN)."""
        policy.enforce(ctx, "floating_ip:write")
        async with self.uow() as uow:
            fip = await self._load(uow, ctx, fip_id)
            await self._settle_pending(uow, fip.id)
            fip.port_id = fip.fixed_ip_address = fip.server_id = None
            fip.status = Status.DOWN
            self._queue(uow, ctx, fip, "disassociate")
            await uow.commit()
        self._wakeup()
        return fip

    async def delete(self, ctx: RequestContext, fip_id: str) -> FloatingIP:
        """Release the address (disassociated first); the row goes once the cloud let go."""
        policy.enforce(ctx, "floating_ip:write")
        async with self.uow() as uow:
            fip = await self._load(uow, ctx, fip_id)
            fip.port_id = fip.fixed_ip_address = fip.server_id = None
            fip.status = Status.DOWN
            now = self._operations.clock.now()
            if not await supersede(uow, fip.id, "superseded by delete", now=now):
                self._queue(uow, ctx, fip, "delete")
            await uow.commit()
        self._wakeup()
        return fip

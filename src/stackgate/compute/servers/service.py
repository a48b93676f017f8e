"""Server use cases: create, read, list, update, delete, wait; and what the other sub-features'
use cases share (loading a server, Nova's checks, queuing its operations, its body)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.block_storage import public as block_storage_service
from stackgate.catalog import public as catalog_service
from stackgate.catalog.public import Image
from stackgate.compute.errors import DeletedListForbidden, FlavorTooSmall, ServerNotFound, refused
from stackgate.compute.models import Server
from stackgate.compute.public import project_usage
from stackgate.compute.repository import ComputeUoW, ServerFilters
from stackgate.compute.servers.repository import details_of
from stackgate.compute.servers.schemas import ServerCreate, ServerDetail, ServerRead, ServerUpdate
from stackgate.core.clock import Clock
from stackgate.core.context import RequestContext
from stackgate.core.errors import ConcurrentUpdate, InvalidInput
from stackgate.core.idempotency import IdempotencyScope, StoredResponse
from stackgate.core.ids import new_id
from stackgate.core.operations import Operation, OperationFactory
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.uow import UnitOfWork
from stackgate.identity.public import policy, quotas
from stackgate.network import public as network
from stackgate.semantics import nova
from stackgate.semantics.nova import (
    TRANSITIONAL,
    Action,
    PowerState,
    ServerView,
    Status,
    TaskState,
    VmState,
    statuses_for_filter,
)


@dataclass(frozen=True, slots=True)
class ComputeConfig:
    idempotency_ttl: timedelta = timedelta(hours=24)
    max_wait: float = 60


def check_fits(
    flavor_disk_gb: int, flavor_ram_mb: int, min_disk_gb: int, min_ram_mb: int, field: str
) -> None:
    """Nova refuses a flavor smaller than the image's min_disk/min_ram (400)."""
    if flavor_disk_gb and flavor_disk_gb < min_disk_gb:
        raise FlavorTooSmall(
            f"{field}: flavor disk {flavor_disk_gb} GB is smaller than the image's min_disk "
            f"{min_disk_gb} GB",
            field=field,
        )
    if flavor_ram_mb < min_ram_mb:
        raise FlavorTooSmall(
            f"{field}: flavor RAM {flavor_ram_mb} MB is smaller than the image's min_ram "
            f"{min_ram_mb} MB",
            field=field,
        )


def view_of(server: Server) -> ServerView:
    return ServerView(
        server.vm_state, server.task_state, server.launched_at is not None, server.locked
    )


def check_action(
    action: str, server: Server, *, is_admin: bool, reboot_type: str = "SOFT"
) -> str | None:
    """Nova's state rules for `action` on this server: the task_state it sets, or a 409."""
    try:
        return nova.check_action(
            action,
            view_of(server),
            server_id=server.id,
            reboot_type=reboot_type,
            is_admin=is_admin,
        )
    except nova.ActionRefused as exc:
        raise refused(exc) from exc


class ServerService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Clock,
        operations: OperationFactory,
        config: ComputeConfig,
        wakeup: Callable[[], None] = lambda: None,
        readonly: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._readonly = readonly or sessionmaker
        self._clock = clock
        self._operations = operations
        self._config = config
        self._wakeup = wakeup

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def operations(self) -> OperationFactory:
        """Where the sub-features' use cases queue their operations (and other features'
        functions queue theirs inside the same unit of work)."""
        return self._operations

    def wake(self) -> None:
        """Tell an in-process worker there is work (separate workers poll)."""
        self._wakeup()

    def uow(self) -> ComputeUoW:
        """A fresh unit of work (shared with the action use cases)."""
        return ComputeUoW(self._sessionmaker)

    def reader(self) -> ComputeUoW:
        """A unit of work for reads only (autocommit: no BEGIN/ROLLBACK round trips)."""
        return ComputeUoW(self._readonly)

    async def load(
        self, uow: ComputeUoW, ctx: RequestContext, server_id: str, *, deleted: bool = False
    ) -> Server:
        """The caller's server or ServerNotFound (another project's server is not found); the
        cloud admin reaches every project's servers, as in Nova.

        A DELETED server is gone, as in Nova (common.get_instance reads with
        read_deleted='no'): every verb on it answers 404, and only an admin's listing with
        status=DELETED shows the row. `deleted=True` is for the two reads that keep it: the
        instance action log (Nova 2.21 reads it with read_deleted='yes') and the answer to the
        request that did the delete (Prefer: wait)."""
        if ctx.is_admin:
            server = await uow.servers.get_unscoped(server_id)
        else:
            server = await uow.servers.get(ctx.project_id, server_id)
        if server is None or (server.status == Status.DELETED and not deleted):
            raise ServerNotFound(server_id)
        return server

    def new_operation(
        self,
        ctx: RequestContext,
        server: Server,
        action: str,
        params: dict[str, object] | None = None,
        *,
        now: datetime | None = None,
    ) -> Operation:
        """An operation record for the worker, with the configured deadline; `now` when the
        transaction has read the clock already (one instant for the row and its operation)."""
        return self._operations.due_now(
            project_id=server.project_id,
            user_id=ctx.user_id,
            request_id=ctx.request_id,
            resource_type="server",
            resource_id=server.id,
            action=action,
            params=dict(params) if params else None,
            now=now,
        )

    async def create(
        self, ctx: RequestContext, data: ServerCreate, *, idempotency_key: str | None = None
    ) -> ServerDetail | StoredResponse:
        """Accept a server with its ports, boot volume and reserved data volumes, plus one
        create operation, in one transaction (202); any refusal changes nothing."""
        policy.enforce(ctx, "server:create")
        scope = IdempotencyScope.of_request(
            ctx.project_id, "POST", "/api/v1/vms", idempotency_key, data.model_dump(mode="json")
        )
        async with self.uow() as uow:
            now = self._clock.now()
            if scope is not None:
                stored = await uow.idempotency.find(scope, now=now)
                if stored is not None:
                    return stored
            flavor = await catalog_service.resolve_flavor(uow, data.flavor)
            image = await catalog_service.resolve_image(uow, ctx, data.image)
            # Booting from a volume, the root disk is the volume: Nova skips the flavor's disk.
            flavor_disk = 0 if data.boot_volume is not None else flavor.disk_gb
            check_fits(flavor_disk, flavor.ram_mb, image.min_disk_gb, image.min_ram_mb, "flavor")
            await quotas.enforce(
                uow,
                ctx.project_id,
                {"instances": 1, "cores": flavor.vcpus, "ram": flavor.ram_mb},
                project_usage,
            )
            server = Server(
                id=new_id(),
                project_id=ctx.project_id,
                user_id=ctx.user_id,
                name=data.name,
                description=data.description,
                metadata_=dict(data.metadata),
                key_name=data.key_name,
                user_data=data.user_data,
                flavor_id=flavor.id,
                flavor_name=flavor.name,
                vcpus=flavor.vcpus,
                ram_mb=flavor.ram_mb,
                disk_gb=flavor.disk_gb,
                image_id=image.id,
                image_name=image.name,
                locked=False,
                power_state=PowerState.NOSTATE,
                created_at=now,
                updated_at=now,
            )
            server.set_state(VmState.BUILDING, TaskState.SCHEDULING)
            params = await plug(uow, ctx, server, data, image, self._operations)
            (detail,) = await details_of(uow.session, [server], cloud_admin=ctx.is_admin)
            server.ip_address = detail.first_fixed_address()
            uow.servers.add(server)
            uow.operations.add(self.new_operation(ctx, server, Action.CREATE, params, now=now))
            await uow.flush()
            replayed = await uow.commit_idempotent(
                scope,
                lambda: StoredResponse(
                    202, ServerRead.model_validate(detail).model_dump(mode="json"), server.id
                ),
                now=now,
                expires_at=now + self._config.idempotency_ttl,
            )
            if replayed is not None:
                return replayed
        self.wake()
        return detail

    async def get(
        self, ctx: RequestContext, server_id: str, *, deleted: bool = False
    ) -> ServerDetail:
        """One server of the caller's project (a DELETED one only with `deleted`)."""
        policy.enforce(ctx, "server:get")
        async with self.reader() as uow:
            server = await self.load(uow, ctx, server_id, deleted=deleted)
            (detail,) = await details_of(uow.session, [server], cloud_admin=ctx.is_admin)
            return detail

    async def list(
        self,
        ctx: RequestContext,
        *,
        status: str | None,
        name: str | None,
        flavor: str | None,
        image: str | None,
        page: PageRequest,
    ) -> PageResult[ServerDetail]:
        """The project's servers; DELETED ones only for the cloud admin asking by status (Nova:
        "Only administrators may list deleted instances", nova/api/openstack/compute/
        servers.py)."""
        filters = ServerFilters(
            statuses=tuple(statuses_for_filter(status)) if status else (),
            name=name,
            flavor=flavor,
            image=image,
        )
        policy.enforce(ctx, "server:list")
        if Status.DELETED.value in filters.statuses and not ctx.is_admin:
            raise DeletedListForbidden()
        async with self.reader() as uow:
            result = await uow.servers.list(ctx.project_id, filters=filters, page=page)
            # One query per feature for the whole page, never one per server.
            items = await details_of(uow.session, result.items, cloud_admin=ctx.is_admin)
        return PageResult(
            items=items,
            total=result.total,
            page=result.page,
            per_page=result.per_page,
            next_cursor=result.next_cursor,
        )

    async def update(self, ctx: RequestContext, server_id: str, data: ServerUpdate) -> ServerDetail:
        """Rename, describe or re-tag a server; `version` guards against lost updates."""
        policy.enforce(ctx, "server:update")
        async with self.uow() as uow:
            server = await self.load(uow, ctx, server_id)
            if data.version is not None and data.version != server.version:
                raise ConcurrentUpdate(
                    f"version {data.version} is stale; the server is at version {server.version}"
                )
            changes = data.model_dump(exclude_unset=True, exclude={"version"})
            if "name" in changes and data.name is not None:
                server.name = data.name
            if "description" in changes:
                server.description = data.description
            if "metadata" in changes and data.metadata is not None:
                server.metadata_ = dict(data.metadata)
            server.updated_at = self._clock.now()
            await uow.commit()
            (detail,) = await details_of(uow.session, [server], cloud_admin=ctx.is_admin)
            return detail

    async def delete(self, ctx: RequestContext, server_id: str) -> ServerDetail:
        """Soft delete: allowed with a task running; other operations are cancelled."""
        policy.enforce(ctx, "server:delete")
        async with self.uow() as uow:
            server = await self.load(uow, ctx, server_id)
            if server.task_state == TaskState.DELETING:
                return (await details_of(uow.session, [server], cloud_admin=ctx.is_admin))[0]
            task = check_action(Action.DELETE, server, is_admin=ctx.is_admin)
            now = self._clock.now()
            for op in await uow.operations.open_for_resource(server.id):
                op.cancel("superseded by delete", now=now)
                await catalog_service.fail_snapshot(uow, op.params.get("image_id"))
            server.set_state(server.vm_state, task)
            server.updated_at = now
            uow.operations.add(self.new_operation(ctx, server, Action.DELETE, now=now))
            await uow.commit()
            (detail,) = await details_of(uow.session, [server], cloud_admin=ctx.is_admin)
        self.wake()
        return detail

    async def wait(
        self, ctx: RequestContext, server_id: str, seconds: float
    ) -> tuple[ServerDetail, bool]:
        """Poll until the server's task ends (or `seconds`); returns (server, settled)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(seconds, self._config.max_wait)
        delay = 0.02
        while True:
            # The request that deleted the server is answered with its end: DELETED.
            detail = await self.get(ctx, server_id, deleted=True)
            server = detail.server
            settled = server.task_state is None and server.status not in TRANSITIONAL
            if settled or loop.time() >= deadline:
                return detail, settled
            await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
            delay = min(delay * 2, 0.25)


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
            operations=operations,
        )
        boot_volume_id = boot.id
    if len(set(data.volumes)) != len(data.volumes):
        raise InvalidInput("volumes: a volume is listed twice", field="volumes")
    volume_ids: list[str] = []
    if data.volumes:
        reserved = await block_storage_service.reserve_volumes(
            uow, ctx, data.volumes, server.id, now=operations.clock.now()
        )
        volume_ids = [volume.id for volume in reserved]
    return {"port_ids": port_ids, "boot_volume_id": boot_volume_id, "volume_ids": volume_ids}

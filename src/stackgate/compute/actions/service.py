"""Server action use cases: POST /vms/{id}/actions/{action}, snapshots, the instance action log."""

from __future__ import annotations

from collections.abc import Sequence

from stackgate.catalog import public as catalog_service
from stackgate.catalog.public import Image
from stackgate.compute.actions.schemas import ActionRequest, SnapshotCreate
from stackgate.compute.errors import ResizeToSameFlavor
from stackgate.compute.models import Server
from stackgate.compute.public import project_usage
from stackgate.compute.repository import ComputeUoW
from stackgate.compute.servers.repository import details_of
from stackgate.compute.servers.schemas import ServerDetail
from stackgate.compute.servers.service import ServerService, check_action, check_fits
from stackgate.core.context import RequestContext
from stackgate.core.errors import InvalidInput
from stackgate.core.operations import Operation, OpResult
from stackgate.identity.public import policy, quotas
from stackgate.semantics.nova import ACTION_ALIASES, Action, Status

# Which body fields each action takes; anything else is refused rather than ignored.
_FIELDS: dict[str, set[str]] = {
    Action.REBOOT: {"type"},
    Action.RESIZE: {"flavor"},
    Action.REBUILD: {"image"},
    Action.LOCK: {"reason"},
}


def canonical_action(action: str, status: str) -> str:
    """Aliases: restart = reboot; resume on a PAUSED server unpauses it (seed 000)."""
    name = ACTION_ALIASES.get(action, action)
    if name == Action.RESUME and status == Status.PAUSED:
        return Action.UNPAUSE
    return name


class ServerActionService:
    def __init__(self, servers: ServerService) -> None:
        self._servers = servers

    async def act(
        self, ctx: RequestContext, server_id: str, action: str, body: ActionRequest | None
    ) -> ServerDetail:
        """Start one lifecycle action (202); the worker finishes it."""
        policy.enforce(ctx, "server:action")
        body = body or ActionRequest()
        async with self._servers.uow() as uow:
            server = await self._servers.load(uow, ctx, server_id)
            name = canonical_action(action, server.status)
            given = body.model_dump(exclude_none=True).keys()
            extra = set(given) - _FIELDS.get(name, set())
            if extra:
                raise InvalidInput(
                    f"{action} takes no field(s) {', '.join(sorted(extra))}", field=sorted(extra)[0]
                )
            reboot_type = body.type or "SOFT"
            task = check_action(name, server, reboot_type=reboot_type, is_admin=ctx.is_admin)
            params = await self._params(uow, ctx, server, name, body)
            if name in (Action.LOCK, Action.UNLOCK):
                return await self._set_lock(uow, ctx, server, name, body.reason)
            if name == Action.REBOOT:
                params["type"] = reboot_type
            now = self._servers.clock.now()
            if server.task_state is not None:
                # Only a hard reboot may start while a task runs: it supersedes that task.
                for op in await uow.operations.open_for_resource(server.id):
                    op.cancel(f"superseded by {name} {reboot_type}", now=now)
            server.set_state(server.vm_state, task)
            server.updated_at = now
            uow.operations.add(self._servers.new_operation(ctx, server, name, params, now=now))
            await uow.commit()
            (detail,) = await details_of(uow.session, [server], cloud_admin=ctx.is_admin)
        self._servers.wake()
        return detail

    async def _params(
        self,
        uow: ComputeUoW,
        ctx: RequestContext,
        server: Server,
        action: str,
        body: ActionRequest,
    ) -> dict[str, object]:
        if action == Action.RESIZE:
            if body.flavor is None:
                raise InvalidInput("resize needs a flavor", field="flavor")
            flavor = await catalog_service.resolve_flavor(uow, body.flavor)
            if flavor.id == server.flavor_id or flavor.name == server.flavor_name:
                raise ResizeToSameFlavor()
            # Nova checks the upsize against the quota when the resize is requested.
            await quotas.enforce(
                uow,
                server.project_id,
                {"cores": flavor.vcpus - server.vcpus, "ram": flavor.ram_mb - server.ram_mb},
                project_usage,
            )
            image = await self._image_or_none(uow, server.image_id)
            if image is not None:
                check_fits(
                    flavor.disk_gb, flavor.ram_mb, image.min_disk_gb, image.min_ram_mb, "flavor"
                )
            return {
                "flavor": {
                    "id": flavor.id,
                    "name": flavor.name,
                    "vcpus": flavor.vcpus,
                    "ram_mb": flavor.ram_mb,
                    "disk_gb": flavor.disk_gb,
                }
            }
        if action == Action.REBUILD:
            ref = body.image or server.image_id
            if ref is None:
                raise InvalidInput("rebuild needs an image", field="image")
            image = await catalog_service.resolve_image(uow, ctx, ref)
            check_fits(server.disk_gb, server.ram_mb, image.min_disk_gb, image.min_ram_mb, "image")
            return {
                "image": {
                    "id": image.id,
                    "name": image.name,
                    "min_disk_gb": image.min_disk_gb,
                    "min_ram_mb": image.min_ram_mb,
                }
            }
        return {}

    @staticmethod
    async def _image_or_none(uow: ComputeUoW, image_id: str | None) -> Image | None:
        return None if image_id is None else await catalog_service.get_image_row(uow, image_id)

    async def _set_lock(
        self, uow: ComputeUoW, ctx: RequestContext, server: Server, action: str, reason: str | None
    ) -> ServerDetail:
        """Locking is ours alone (no cloud call): it takes effect and is logged at once."""
        server.locked = action == Action.LOCK
        server.locked_reason = reason if server.locked else None
        now = self._servers.clock.now()
        server.updated_at = now
        op = self._servers.new_operation(ctx, server, action, now=now)
        op.finish(OpResult.SUCCESS, now=now)
        uow.operations.add(op)
        await uow.commit()
        (detail,) = await details_of(uow.session, [server], cloud_admin=ctx.is_admin)
        return detail

    async def snapshot(self, ctx: RequestContext, server_id: str, data: SnapshotCreate) -> Image:
        """createImage: a queued image now, active when the cloud has uploaded it."""
        policy.enforce(ctx, "server:snapshot")
        async with self._servers.uow() as uow:
            server = await self._servers.load(uow, ctx, server_id)
            task = check_action(Action.SNAPSHOT, server, is_admin=ctx.is_admin)
            base = await self._image_or_none(uow, server.image_id)
            image = catalog_service.add_snapshot_image(
                uow,
                name=data.name,
                project_id=server.project_id,
                server_id=server.id,
                base=base,
                min_disk_gb=server.disk_gb,
            )
            await uow.flush()
            server.set_state(server.vm_state, task)
            server.updated_at = self._servers.clock.now()
            uow.operations.add(
                self._servers.new_operation(
                    ctx, server, Action.SNAPSHOT, {"image_id": image.id, "name": data.name}
                )
            )
            await uow.commit()
        self._servers.wake()
        return image

    async def list_snapshots(self, ctx: RequestContext, server_id: str) -> list[Image]:
        """Images made from this server."""
        policy.enforce(ctx, "server:get")
        async with self._servers.reader() as uow:
            server = await self._servers.load(uow, ctx, server_id)
            return await catalog_service.snapshots_of(uow, server.id)

    async def list_actions(self, ctx: RequestContext, server_id: str) -> Sequence[Operation]:
        """The instance action log, newest first."""
        policy.enforce(ctx, "server:get")
        async with self._servers.reader() as uow:
            server = await self._servers.load(uow, ctx, server_id, deleted=True)
            return await uow.operations.list_for_resource(server.id)

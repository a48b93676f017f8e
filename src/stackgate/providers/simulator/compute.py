"""The simulated compute proxy (`conn.compute`): Nova's API over the simulator's store."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.ids import new_id
from stackgate.providers.base import (
    FlavorSpec,
    ImageSpec,
    ProviderBadRequest,
    ProviderImage,
    ProviderServer,
    ServerSpec,
)
from stackgate.providers.simulator import attachments, placement
from stackgate.providers.simulator.env import SimEnv
from stackgate.providers.simulator.guards import (
    allow,
    check_boot,
    locked_server,
    server_not_found,
)
from stackgate.providers.simulator.lifecycle import (
    abandon,
    begin,
    drop,
    flavor_spec,
    is_due,
    settle,
    settle_due,
    to_dto,
)
from stackgate.providers.simulator.tables import SimImage, SimServer
from stackgate.semantics.nova import Action

_SNAPSHOT_SHARE = 10  # a snapshot's size, as a share of the root disk


class SimulatorCompute:
    """Every call checks Nova's rules, records a pending operation and returns at once."""

    def __init__(self, env: SimEnv) -> None:
        self._env = env

    async def create_server(self, spec: ServerSpec) -> ProviderServer:
        """Boot a server; it answers at once in BUILD and goes ACTIVE or ERROR later."""
        self._env.faults.before_call("create_server")
        result = await placement.create(self._env, spec)
        self._env.faults.after_commit("create_server")
        return result

    async def get_server(self, server_id: str) -> ProviderServer:
        """The server now; raises ProviderNotFound once it is gone."""
        env = self._env
        env.faults.before_call("get_server")
        now = env.clock.now()

        async def read(session: AsyncSession) -> ProviderServer | None:
            server = await session.get(SimServer, server_id)
            if server is None:
                raise server_not_found(server_id)
            return None if is_due(server, now) else to_dto(server, now)

        async def finish(session: AsyncSession) -> ProviderServer:
            return to_dto(await locked_server(session, server_id, now), now)

        # Reads take no write lock; only a server whose operation has ended needs one.
        found = await env.store.run(read)
        return found if found is not None else await env.store.run(finish, write=True)

    async def servers(self, *, tags: tuple[str, ...] = ()) -> list[ProviderServer]:
        """Servers of the project, optionally only those carrying all `tags`."""
        env = self._env
        env.faults.before_call("servers")
        now = env.clock.now()
        listing = select(SimServer).order_by(SimServer.created_at, SimServer.id)

        async def read(session: AsyncSession) -> list[SimServer] | None:
            rows = list((await session.scalars(listing)).all())
            return None if any(is_due(row, now) for row in rows) else rows

        async def finish(session: AsyncSession) -> list[SimServer]:
            await settle_due(session, now)
            return list((await session.scalars(listing)).all())

        rows = await env.store.run(read)
        if rows is None:
            rows = await env.store.run(finish, write=True)
        return [to_dto(row, now) for row in rows if set(tags).issubset(row.tags)]

    async def delete_server(self, server_id: str) -> None:
        """Delete a server in any state; a missing server is not an error."""
        env = self._env
        env.faults.before_call("delete_server")
        draws = env.draws_for(Action.DELETE)

        async def work(session: AsyncSession) -> None:
            now = env.clock.now()
            server = await session.get(
                SimServer, server_id, with_for_update=True, populate_existing=True
            )
            if server is None or not await settle(session, server, now):
                return
            if server.action == Action.DELETE:
                return  # already on its way
            task = allow(server, Action.DELETE, now)
            await abandon(session, server)
            if server.host is None:
                await drop(session, server)  # Nova deletes a server without a host at once
                return
            duration, fails = draws()
            begin(server, Action.DELETE, task, now=now, duration=duration, fails=fails)

        await env.store.run(work, write=True)
        env.faults.after_commit("delete_server")

    async def _act(
        self, call: str, server_id: str, action: Action, *, reboot_type: str = "SOFT"
    ) -> None:
        env = self._env
        env.faults.before_call(call)
        draws = env.draws_for(action)

        async def work(session: AsyncSession) -> None:
            now = env.clock.now()
            server = await locked_server(session, server_id, now)
            task = allow(server, action, now, reboot_type=reboot_type)
            duration, fails = draws()
            # A hard reboot may replace a running power transition (nova reboot()).
            begin(server, action, task, now=now, duration=duration, fails=fails)

        await env.store.run(work, write=True)
        env.faults.after_commit(call)

    async def start_server(self, server_id: str) -> None:
        """os-start."""
        await self._act("start_server", server_id, Action.START)

    async def stop_server(self, server_id: str) -> None:
        """os-stop."""
        await self._act("stop_server", server_id, Action.STOP)

    async def reboot_server(self, server_id: str, reboot_type: str) -> None:
        """reboot with type SOFT or HARD."""
        kind = reboot_type.upper()
        if kind not in ("SOFT", "HARD"):
            raise ProviderBadRequest(f"Invalid reboot type {reboot_type!r}", status_code=400)
        await self._act("reboot_server", server_id, Action.REBOOT, reboot_type=kind)

    async def pause_server(self, server_id: str) -> None:
        """pause."""
        await self._act("pause_server", server_id, Action.PAUSE)

    async def unpause_server(self, server_id: str) -> None:
        """unpause."""
        await self._act("unpause_server", server_id, Action.UNPAUSE)

    async def suspend_server(self, server_id: str) -> None:
        """suspend."""
        await self._act("suspend_server", server_id, Action.SUSPEND)

    async def resume_server(self, server_id: str) -> None:
        """resume."""
        await self._act("resume_server", server_id, Action.RESUME)

    async def confirm_server_resize(self, server_id: str) -> None:
        """confirmResize."""
        await self._act("confirm_server_resize", server_id, Action.CONFIRM_RESIZE)

    async def revert_server_resize(self, server_id: str) -> None:
        """revertResize: back to the old flavor."""
        await self._act("revert_server_resize", server_id, Action.REVERT_RESIZE)

    async def shelve_server(self, server_id: str) -> None:
        """shelve (offloaded at once, as with Nova's default shelved_offload_time=0)."""
        await self._act("shelve_server", server_id, Action.SHELVE)

    async def resize_server(self, server_id: str, flavor: FlavorSpec) -> None:
        """resize to another flavor on the same host; the server ends in VERIFY_RESIZE."""
        self._env.faults.before_call("resize_server")
        await placement.resize(self._env, server_id, flavor)
        self._env.faults.after_commit("resize_server")

    async def unshelve_server(self, server_id: str) -> None:
        """unshelve: scheduled again, may find no valid host."""
        self._env.faults.before_call("unshelve_server")
        await placement.unshelve(self._env, server_id)
        self._env.faults.after_commit("unshelve_server")

    async def rebuild_server(self, server_id: str, image: ImageSpec) -> None:
        """rebuild from another (or the same) image."""
        env = self._env
        env.faults.before_call("rebuild_server")
        draws = env.draws_for(Action.REBUILD)

        async def work(session: AsyncSession) -> None:
            now = env.clock.now()
            server = await locked_server(session, server_id, now)
            task = allow(server, Action.REBUILD, now)
            check_boot(flavor_spec(server.flavor), image)
            server.image_id = image.id  # the API records the new image before the rebuild
            duration, fails = draws()
            begin(server, Action.REBUILD, task, now=now, duration=duration, fails=fails)

        await env.store.run(work, write=True)
        env.faults.after_commit("rebuild_server")

    async def create_server_image(self, server_id: str, name: str) -> ProviderImage:
        """createImage: a snapshot that becomes an image (queued, then active)."""
        env = self._env
        env.faults.before_call("create_server_image")
        draws = env.draws_for(Action.SNAPSHOT)
        image_id = new_id()

        async def work(session: AsyncSession) -> None:
            now = env.clock.now()
            server = await locked_server(session, server_id, now)
            task = allow(server, Action.SNAPSHOT, now)
            size = max(int(server.flavor["disk_gb"]), 1) * 2**30 // _SNAPSHOT_SHARE
            duration, fails = draws()
            begin(
                server,
                Action.SNAPSHOT,
                task,
                now=now,
                duration=duration,
                fails=fails,
                params={"image_id": image_id, "size": size},
            )
            session.add(
                SimImage(
                    id=image_id,
                    name=name,
                    status="queued",
                    server_id=server.id,
                    size=None,
                    created_at=now,
                    ready_at=server.ends_at,
                )
            )

        await env.store.run(work, write=True)
        env.faults.after_commit("create_server_image")
        return ProviderImage(id=image_id, name=name, status="queued", size_bytes=None)

    async def create_volume_attachment(self, server_id: str, volume_id: str) -> str:
        """os-volume_attachments: attach an available volume; returns the device (/dev/vdb).
        The volume passes attaching -> in-use; a volume not available -> ProviderBadRequest."""
        self._env.faults.before_call("create_volume_attachment")
        device = await attachments.attach(self._env, server_id, volume_id)
        self._env.faults.after_commit("create_volume_attachment")
        return device

    async def delete_volume_attachment(self, server_id: str, volume_id: str) -> None:
        """Detach (detaching -> available); not attached to this server is not an error.
        The root volume of a server booted from a volume cannot be detached (400)."""
        self._env.faults.before_call("delete_volume_attachment")
        await attachments.detach(self._env, server_id, volume_id)
        self._env.faults.after_commit("delete_volume_attachment")

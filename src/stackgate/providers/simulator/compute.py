"""The simulated compute proxy (`conn.compute`): Nova's API over the simulator's store."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.compute.states import Action, PowerState, TaskState, VmState
from stackgate.core.ids import new_id
from stackgate.providers.base import (
    FlavorSpec,
    ImageSpec,
    ProviderBadRequest,
    ProviderImage,
    ProviderServer,
    ProviderUnavailable,
    ServerSpec,
)
from stackgate.providers.simulator.env import SimEnv
from stackgate.providers.simulator.guards import (
    allow,
    check_boot,
    check_resize,
    locked_server,
    server_not_found,
)
from stackgate.providers.simulator.ipam import pick_address
from stackgate.providers.simulator.lifecycle import (
    abandon,
    begin,
    drop,
    flavor_data,
    flavor_spec,
    is_due,
    settle,
    settle_due,
    to_dto,
)
from stackgate.providers.simulator.scheduler import (
    Resources,
    choose_host,
    lock_hypervisors,
    usage,
)
from stackgate.providers.simulator.tables import SimImage, SimServer

# A request the scheduler cannot place fails at its first step, not after the whole duration.
_SCHEDULING_SHARE = 4
_ADDRESS_TRIES = 8
_SNAPSHOT_SHARE = 10  # a snapshot's size, as a share of the root disk


class SimulatorCompute:
    """Every call checks Nova's rules, records a pending operation and returns at once."""

    def __init__(self, env: SimEnv) -> None:
        self._env = env

    async def create_server(self, spec: ServerSpec) -> ProviderServer:
        """Boot a server; it answers at once in BUILD and goes ACTIVE or ERROR later."""
        env = self._env
        env.faults.before_call("create_server")
        check_boot(spec.flavor, spec.image)
        async with env.store.transaction(write=True) as session:
            now = env.clock.now()
            hosts = await lock_hypervisors(session)
            await settle_due(session, now)
            flavor = flavor_data(spec.flavor)
            host = choose_host(hosts, await usage(session), Resources.of(flavor))
            server = SimServer(
                id=new_id(),
                name=spec.name,
                project_id=spec.project_id,
                tags=list(spec.tags),
                meta=dict(spec.metadata),
                flavor=flavor,
                old_flavor=None,
                image_id=spec.image.id,
                vm_state=VmState.BUILDING,
                power_state=PowerState.NOSTATE,
                host=host,
                ip_address=None,
                fault=None,
                launched_at=None,
                locked=False,
                created_at=now,
            )
            duration = env.timing.draw(Action.CREATE)
            fails = env.faults.operation_fails()
            params = {} if host is not None else {"no_host": True}
            if host is None:
                duration /= _SCHEDULING_SHARE
            begin(
                server,
                Action.CREATE,
                TaskState.SCHEDULING,
                now=now,
                duration=duration,
                fails=fails,
                params=params,
            )
            await self._insert(session, server, with_address=host is not None)
            result = to_dto(server, now)
        env.faults.after_commit("create_server")
        return result

    async def _insert(
        self, session: AsyncSession, server: SimServer, *, with_address: bool
    ) -> None:
        """Add the row; the unique key on ip_address settles a race for the same address."""
        for _ in range(_ADDRESS_TRIES):
            if with_address:
                server.ip_address = await pick_address(session, self._env.ipam_rng)
                if server.ip_address is None:
                    server.params = {**server.params, "no_network": True}
            try:
                async with session.begin_nested():
                    session.add(server)
                    await session.flush()
                return
            except IntegrityError:
                continue
        raise ProviderUnavailable("Simulated IP allocation kept colliding", status_code=503)

    async def get_server(self, server_id: str) -> ProviderServer:
        """The server now; raises ProviderNotFound once it is gone."""
        env = self._env
        env.faults.before_call("get_server")
        now = env.clock.now()
        async with env.store.transaction() as session:
            server = await session.get(SimServer, server_id)
            if server is None:
                raise server_not_found(server_id)
            if not is_due(server, now):
                return to_dto(server, now)
        # Its operation has ended: apply it under the write lock (someone may have already).
        async with env.store.transaction(write=True) as session:
            return to_dto(await locked_server(session, server_id, now), now)

    async def servers(self, *, tags: tuple[str, ...] = ()) -> list[ProviderServer]:
        """Servers of the project, optionally only those carrying all `tags`."""
        env = self._env
        env.faults.before_call("servers")
        now = env.clock.now()
        wanted = set(tags)
        listing = select(SimServer).order_by(SimServer.created_at, SimServer.id)
        async with env.store.transaction() as session:
            rows = list((await session.scalars(listing)).all())
            stale = any(is_due(row, now) for row in rows)
        if stale:
            async with env.store.transaction(write=True) as session:
                await settle_due(session, now)
                rows = list((await session.scalars(listing)).all())
        return [to_dto(row, now) for row in rows if wanted.issubset(row.tags)]

    async def delete_server(self, server_id: str) -> None:
        """Delete a server in any state; a missing server is not an error."""
        env = self._env
        env.faults.before_call("delete_server")
        async with env.store.transaction(write=True) as session:
            now = env.clock.now()
            server = await session.get(
                SimServer, server_id, with_for_update=True, populate_existing=True
            )
            alive = server is not None and await settle(session, server, now)
            if server is not None and alive and server.action != Action.DELETE:
                task = allow(server, Action.DELETE, now)
                await abandon(session, server)
                if server.host is None:
                    # Nova deletes a server without a host locally, at once.
                    await drop(session, server)
                else:
                    begin(
                        server,
                        Action.DELETE,
                        task,
                        now=now,
                        duration=env.timing.draw(Action.DELETE),
                        fails=env.faults.operation_fails(),
                    )
        env.faults.after_commit("delete_server")

    async def _act(
        self, call: str, server_id: str, action: Action, *, reboot_type: str = "SOFT"
    ) -> None:
        env = self._env
        env.faults.before_call(call)
        async with env.store.transaction(write=True) as session:
            now = env.clock.now()
            server = await locked_server(session, server_id, now)
            task = allow(server, action, now, reboot_type=reboot_type)
            # A hard reboot may replace a running power transition (nova reboot()).
            begin(
                server,
                action,
                task,
                now=now,
                duration=env.timing.draw(action),
                fails=env.faults.operation_fails(),
            )
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
        env = self._env
        env.faults.before_call("resize_server")
        async with env.store.transaction(write=True) as session:
            now = env.clock.now()
            hosts = await lock_hypervisors(session)
            await settle_due(session, now)
            server = await locked_server(session, server_id, now)
            task = allow(server, Action.RESIZE, now)
            check_resize(server.flavor, flavor)
            new = flavor_data(flavor)
            need = Resources.of(server.flavor).widest(Resources.of(new))
            used = await usage(session, exclude=server.id)
            params: dict[str, object] = {"flavor": new}
            duration = env.timing.draw(Action.RESIZE)
            if new["disk_gb"] < server.flavor["disk_gb"]:
                params["disk_down"] = True  # the driver refuses to shrink a root disk
            elif choose_host(hosts, used, need, only=server.host) is None:
                params["no_host"] = True
            if len(params) > 1:
                duration /= _SCHEDULING_SHARE
            begin(
                server,
                Action.RESIZE,
                task,
                now=now,
                duration=duration,
                fails=env.faults.operation_fails(),
                params=params,
            )
        env.faults.after_commit("resize_server")

    async def rebuild_server(self, server_id: str, image: ImageSpec) -> None:
        """rebuild from another (or the same) image."""
        env = self._env
        env.faults.before_call("rebuild_server")
        async with env.store.transaction(write=True) as session:
            now = env.clock.now()
            server = await locked_server(session, server_id, now)
            task = allow(server, Action.REBUILD, now)
            check_boot(flavor_spec(server.flavor), image)
            server.image_id = image.id  # the API records the new image before the rebuild runs
            begin(
                server,
                Action.REBUILD,
                task,
                now=now,
                duration=env.timing.draw(Action.REBUILD),
                fails=env.faults.operation_fails(),
            )
        env.faults.after_commit("rebuild_server")

    async def unshelve_server(self, server_id: str) -> None:
        """unshelve: scheduled again, may find no valid host."""
        env = self._env
        env.faults.before_call("unshelve_server")
        async with env.store.transaction(write=True) as session:
            now = env.clock.now()
            hosts = await lock_hypervisors(session)
            await settle_due(session, now)
            server = await locked_server(session, server_id, now)
            task = allow(server, Action.UNSHELVE, now)
            used = await usage(session, exclude=server.id)
            server.host = choose_host(hosts, used, Resources.of(server.flavor))
            duration = env.timing.draw(Action.UNSHELVE)
            params = {} if server.host is not None else {"no_host": True}
            if server.host is None:
                duration /= _SCHEDULING_SHARE
            begin(
                server,
                Action.UNSHELVE,
                task,
                now=now,
                duration=duration,
                fails=env.faults.operation_fails(),
                params=params,
            )
        env.faults.after_commit("unshelve_server")

    async def create_server_image(self, server_id: str, name: str) -> ProviderImage:
        """createImage: a snapshot that becomes an image (queued, then active)."""
        env = self._env
        env.faults.before_call("create_server_image")
        async with env.store.transaction(write=True) as session:
            now = env.clock.now()
            server = await locked_server(session, server_id, now)
            task = allow(server, Action.SNAPSHOT, now)
            image_id = new_id()
            size = max(int(server.flavor["disk_gb"]), 1) * 2**30 // _SNAPSHOT_SHARE
            begin(
                server,
                Action.SNAPSHOT,
                task,
                now=now,
                duration=env.timing.draw(Action.SNAPSHOT),
                fails=env.faults.operation_fails(),
                params={"image_id": image_id, "size": size},
            )
            image = SimImage(
                id=image_id,
                name=name,
                status="queued",
                server_id=server.id,
                size=None,
                created_at=now,
                ready_at=server.ends_at,
            )
            session.add(image)
        env.faults.after_commit("create_server_image")
        return ProviderImage(id=image_id, name=name, status="queued", size_bytes=None)

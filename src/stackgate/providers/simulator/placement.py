"""The calls that take host capacity: create, resize and unshelve.

They lock the hypervisor rows first, then settle due operations, then lock their server: one
lock order for all of them, so they cannot deadlock one another.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.ids import new_id
from stackgate.providers.base import FlavorSpec, ProviderServer, ProviderUnavailable, ServerSpec
from stackgate.providers.simulator.bindings import bind, check_boot_resources
from stackgate.providers.simulator.env import SimEnv
from stackgate.providers.simulator.guards import allow, check_boot, check_resize, locked_server
from stackgate.providers.simulator.ipam import pick_address
from stackgate.providers.simulator.lifecycle import begin, flavor_data, settle_due, to_dto
from stackgate.providers.simulator.scheduler import (
    Resources,
    choose_host,
    lock_hypervisors,
    usage,
)
from stackgate.providers.simulator.tables import SimServer
from stackgate.semantics.nova import Action, PowerState, TaskState, VmState

# A request the scheduler cannot place fails at its first step, not after the whole duration.
SCHEDULING_SHARE = 4
_ADDRESS_TRIES = 8


async def create(env: SimEnv, spec: ServerSpec) -> ProviderServer:
    """Place a new server (or not: NoValidHost shows at the end of scheduling).

    With `port_ids` the server takes those ports (bound at once, its address is the first
    port's); with `boot_volume_id` it boots from that volume and holds no disk on its host.
    """
    from_volume = spec.boot_volume_id is not None
    # Booting from a volume, the image's min_disk is checked against the volume instead.
    check_boot(spec.flavor, replace(spec.image, min_disk_gb=0) if from_volume else spec.image)
    draws = env.draws_for(Action.CREATE)

    async def work(session: AsyncSession) -> ProviderServer:
        now = env.clock.now()
        hosts = await lock_hypervisors(session)
        await settle_due(session, now)
        held = await check_boot_resources(
            session, spec.port_ids, spec.boot_volume_id, spec.image, now
        )
        flavor = flavor_data(spec.flavor)
        host = choose_host(hosts, await usage(session), Resources.of(flavor, disk=not from_volume))
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
            port_address=None,
            boot_volume_id=spec.boot_volume_id,
            fault=None,
            launched_at=None,
            locked=False,
            created_at=now,
        )
        duration, fails = draws()
        if host is None:
            duration /= SCHEDULING_SHARE
        params = {} if host is not None else {"no_host": True}
        begin(
            server,
            Action.CREATE,
            TaskState.SCHEDULING,
            now=now,
            duration=duration,
            fails=fails,
            params=params,
        )
        legacy_address = host is not None and not spec.port_ids
        await _insert(env, session, server, with_address=legacy_address)
        if host is not None:  # a request no host takes never gets as far as the network
            bind(held, server.id)
            server.port_address = held.address
        return to_dto(server, now)

    return await env.store.run(work, write=True)


async def _insert(
    env: SimEnv, session: AsyncSession, server: SimServer, *, with_address: bool
) -> None:
    """Add the row; the unique key on ip_address settles a race for the same address."""
    for _ in range(_ADDRESS_TRIES):
        if with_address:
            server.ip_address = await pick_address(session, env.ipam_rng)
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


async def resize(env: SimEnv, server_id: str, flavor: FlavorSpec) -> None:
    """Resize on the same host, which must have room for both flavors until confirmed."""
    draws = env.draws_for(Action.RESIZE)

    async def work(session: AsyncSession) -> None:
        now = env.clock.now()
        hosts = await lock_hypervisors(session)
        await settle_due(session, now)
        server = await locked_server(session, server_id, now)
        task = allow(server, Action.RESIZE, now)
        check_resize(server.flavor, flavor)
        new = flavor_data(flavor)
        disk = server.boot_volume_id is None
        need = Resources.of(server.flavor, disk=disk).widest(Resources.of(new, disk=disk))
        used = await usage(session, exclude=server.id)
        params: dict[str, object] = {"flavor": new}
        if disk and new["disk_gb"] < server.flavor["disk_gb"]:
            params["disk_down"] = True  # the driver refuses to shrink a root disk
        elif choose_host(hosts, used, need, only=server.host) is None:
            params["no_host"] = True
        duration, fails = draws()
        if len(params) > 1:
            duration /= SCHEDULING_SHARE
        begin(server, Action.RESIZE, task, now=now, duration=duration, fails=fails, params=params)

    await env.store.run(work, write=True)


async def unshelve(env: SimEnv, server_id: str) -> None:
    """Schedule an offloaded server again; with no room it stays offloaded (Nova)."""
    draws = env.draws_for(Action.UNSHELVE)

    async def work(session: AsyncSession) -> None:
        now = env.clock.now()
        hosts = await lock_hypervisors(session)
        await settle_due(session, now)
        server = await locked_server(session, server_id, now)
        task = allow(server, Action.UNSHELVE, now)
        used = await usage(session, exclude=server.id)
        need = Resources.of(server.flavor, disk=server.boot_volume_id is None)
        server.host = choose_host(hosts, used, need)
        duration, fails = draws()
        if server.host is None:
            duration /= SCHEDULING_SHARE
        params = {} if server.host is not None else {"no_host": True}
        begin(server, Action.UNSHELVE, task, now=now, duration=duration, fails=fails, params=params)

    await env.store.run(work, write=True)

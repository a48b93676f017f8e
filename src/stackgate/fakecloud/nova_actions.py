"""POST /servers/{id}/action: each body key mapped to the simulated compute's call, with the
success codes of nova/api/openstack/compute/servers.py and its action modules (202, 204 for
confirmResize, the server body for rebuild, image_id for createImage from 2.45)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.fakecloud.auth import Caller, CloudDep, WriterDep, base_url
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.glance import snapshot_record
from stackgate.fakecloud.nova_common import NovaRoute, bad_request, microversion, ref_id
from stackgate.fakecloud.nova_flavors import find_flavor
from stackgate.fakecloud.nova_log import record
from stackgate.fakecloud.nova_quotas import check as check_quota
from stackgate.fakecloud.nova_servers import image_spec
from stackgate.fakecloud.nova_views import ServerState, load, server_body
from stackgate.providers.simulator.tables import SimServer, SimServerExtra

router = APIRouter(route_class=NovaRoute)

Handler = Callable[[FakeCloud, Request, Caller, ServerState, Any], Awaitable[Response | None]]


def _simple(call: str) -> Handler:
    async def act(
        cloud: FakeCloud, request: Request, caller: Caller, state: ServerState, args: Any
    ) -> None:
        await getattr(cloud.sim.compute, call)(state.dto.id)

    return act


async def _reboot(
    cloud: FakeCloud, request: Request, caller: Caller, state: ServerState, args: Any
) -> None:
    kind = args.get("type") if isinstance(args, dict) else None
    if not isinstance(kind, str) or kind.upper() not in ("SOFT", "HARD"):
        raise bad_request("Invalid input for field/attribute type.")
    await cloud.sim.compute.reboot_server(state.dto.id, kind.upper())


async def _resize(
    cloud: FakeCloud, request: Request, caller: Caller, state: ServerState, args: Any
) -> None:
    ref = args.get("flavorRef") if isinstance(args, dict) else None
    if not ref:
        raise bad_request("Resize requests require 'flavorRef' attribute.")
    flavor = await find_flavor(cloud, ref_id(ref))
    if flavor is None:
        raise bad_request("Unable to locate requested flavor.")
    old = state.row.flavor
    # Only growth is counted (nova/compute/api.py _upsize_quota_delta).
    await check_quota(
        cloud,
        state.row.project_id,
        {
            "cores": max(flavor.vcpus - int(old["vcpus"]), 0),
            "ram": max(flavor.ram_mb - int(old["ram_mb"]), 0),
        },
    )
    await cloud.sim.compute.resize_server(state.dto.id, flavor.spec())


async def _confirm(
    cloud: FakeCloud, request: Request, caller: Caller, state: ServerState, args: Any
) -> Response:
    await cloud.sim.compute.confirm_server_resize(state.dto.id)
    return Response(status_code=204)


async def _rebuild(
    cloud: FakeCloud, request: Request, caller: Caller, state: ServerState, args: Any
) -> Response:
    ref = args.get("imageRef") if isinstance(args, dict) else None
    if not ref:
        raise bad_request("Could not parse imageRef from request.")
    image = await image_spec(cloud, caller, ref_id(ref))
    await cloud.sim.compute.rebuild_server(state.dto.id, image)
    if isinstance(args.get("name"), str):
        await _change(cloud, state.dto.id, name=args["name"])
    fresh = await load(cloud, caller, state.dto.id)
    body = server_body(request, caller, fresh)
    body["adminPass"] = args.get("adminPass") or "sim-" + state.dto.id[:12]
    return JSONResponse({"server": body}, status_code=202)


async def _create_image(
    cloud: FakeCloud, request: Request, caller: Caller, state: ServerState, args: Any
) -> Response:
    name = args.get("name") if isinstance(args, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise bad_request("Invalid input for field/attribute name.")
    metadata = args.get("metadata") or {}
    image = await cloud.sim.compute.create_server_image(state.dto.id, name)
    properties = {
        **{str(k): v for k, v in metadata.items()},
        "instance_uuid": state.dto.id,
        "user_id": caller.user_id,
        "base_image_ref": state.dto.image_id or "",
    }
    row = snapshot_record(image.id, name, state.row.project_id, properties)

    async def keep(session: AsyncSession) -> None:
        session.add(row)

    await cloud.sim.store.run(keep, write=True)
    location = f"{base_url(request)}/image/v2/images/{image.id}"
    content = {"image_id": image.id} if microversion(request) >= (2, 45) else None
    return JSONResponse(content, status_code=202, headers={"Location": location})


async def _change(cloud: FakeCloud, server_id: str, **changes: Any) -> None:
    """Fields Nova's API sets itself (lock, name): the row, not an operation."""

    async def work(session: AsyncSession) -> None:
        row = await session.get(SimServer, server_id, with_for_update=True)
        extra = await session.get(SimServerExtra, server_id, with_for_update=True)
        if row is not None:
            if "locked" in changes:
                row.locked = changes["locked"]
            if "name" in changes:
                row.name = changes["name"]
        if extra is not None:
            if "locked_reason" in changes:
                extra.locked_reason = changes["locked_reason"]
            extra.updated_at = datetime.now(UTC)

    await cloud.sim.store.run(work, write=True)


async def _lock(
    cloud: FakeCloud, request: Request, caller: Caller, state: ServerState, args: Any
) -> None:
    reason = args.get("locked_reason") if isinstance(args, dict) else None
    await _change(cloud, state.dto.id, locked=True, locked_reason=reason)


async def _unlock(
    cloud: FakeCloud, request: Request, caller: Caller, state: ServerState, args: Any
) -> None:
    await _change(cloud, state.dto.id, locked=False, locked_reason=None)


async def _force_delete(
    cloud: FakeCloud, request: Request, caller: Caller, state: ServerState, args: Any
) -> None:
    await cloud.sim.compute.delete_server(state.dto.id)


# body key -> (handler, the action name Nova logs in os-instance-actions)
_ACTIONS: dict[str, tuple[Handler, str]] = {
    "os-start": (_simple("start_server"), "start"),
    "os-stop": (_simple("stop_server"), "stop"),
    "reboot": (_reboot, "reboot"),
    "pause": (_simple("pause_server"), "pause"),
    "unpause": (_simple("unpause_server"), "unpause"),
    "suspend": (_simple("suspend_server"), "suspend"),
    "resume": (_simple("resume_server"), "resume"),
    "resize": (_resize, "resize"),
    "confirmResize": (_confirm, "confirmResize"),
    "revertResize": (_simple("revert_server_resize"), "revertResize"),
    "rebuild": (_rebuild, "rebuild"),
    "shelve": (_simple("shelve_server"), "shelve"),
    "unshelve": (_simple("unshelve_server"), "unshelve"),
    "createImage": (_create_image, "createImage"),
    "lock": (_lock, "lock"),
    "unlock": (_unlock, "unlock"),
    "forceDelete": (_force_delete, "delete"),
}


@router.post("/v2.1/servers/{server_id}/action")
async def server_action(
    server_id: str,
    request: Request,
    cloud: CloudDep,
    caller: WriterDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    if len(body) != 1:
        raise bad_request("Malformed request body")
    key, args = next(iter(body.items()))
    state = await load(cloud, caller, server_id)
    found = _ACTIONS.get(key)
    if found is None:
        raise bad_request(f"There is no such action: {key}")
    handler, logged = found
    response = await handler(cloud, request, caller, state, args)
    await record(cloud, request, caller, server_id, logged)
    return response if response is not None else Response(status_code=202)

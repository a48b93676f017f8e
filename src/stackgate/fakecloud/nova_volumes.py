"""os-volume_attachments (nova/api/openstack/compute/volumes.py VolumeAttachmentController),
plus the small read-only calls `openstack server create` makes on the way (availability
zones, keypairs)."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter, Body, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.fakecloud.auth import CallerDep, CloudDep, WriterDep
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.nova_common import NovaRoute, bad_request, microversion, not_found
from stackgate.fakecloud.nova_log import record
from stackgate.fakecloud.nova_views import load
from stackgate.providers.base import ProviderNotFound
from stackgate.providers.simulator.tables import SimVolume

router = APIRouter(route_class=NovaRoute)


def _attachment(request: Request, server_id: str, volume_id: str, device: str | None) -> Any:
    body: dict[str, Any] = {
        "id": volume_id,
        "serverId": server_id,
        "volumeId": volume_id,
        "device": device,
    }
    version = microversion(request)
    if version >= (2, 70):
        body["tag"] = None
    if version >= (2, 79):
        body["delete_on_termination"] = False
    if version >= (2, 89):
        body.pop("id")
        body["attachment_id"] = None
        body["bdm_uuid"] = None
    return body


async def _attached(cloud: FakeCloud, server_id: str) -> list[SimVolume]:
    """The server's volumes, their finished attaches and detaches applied first (the simulated
    Cinder applies them when a volume is read)."""

    async def work(session: AsyncSession) -> list[SimVolume]:
        stmt = select(SimVolume).where(SimVolume.server_id == server_id).order_by(SimVolume.device)
        return list((await session.scalars(stmt)).all())

    rows = await cloud.sim.store.run(work)
    if any(r.action is not None for r in rows):
        for row in rows:
            with contextlib.suppress(ProviderNotFound):
                await cloud.sim.block_storage.get_volume(row.id)
        rows = await cloud.sim.store.run(work)
    return rows


@router.get("/v2.1/servers/{server_id}/os-volume_attachments")
async def list_attachments(
    server_id: str, request: Request, cloud: CloudDep, caller: CallerDep
) -> dict[str, Any]:
    await load(cloud, caller, server_id)
    volumes = await _attached(cloud, server_id)
    return {"volumeAttachments": [_attachment(request, server_id, v.id, v.device) for v in volumes]}


@router.get("/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}")
async def show_attachment(
    server_id: str, volume_id: str, request: Request, cloud: CloudDep, caller: CallerDep
) -> dict[str, Any]:
    await load(cloud, caller, server_id)
    found = next((v for v in await _attached(cloud, server_id) if v.id == volume_id), None)
    if found is None:
        raise not_found(f"Volume {volume_id} is not attached to instance {server_id}.")
    return {"volumeAttachment": _attachment(request, server_id, volume_id, found.device)}


@router.post("/v2.1/servers/{server_id}/os-volume_attachments")
async def attach(
    server_id: str,
    request: Request,
    cloud: CloudDep,
    caller: WriterDep,
    body: dict[str, Any] = Body(...),
) -> dict[str, Any]:
    """200 with the attachment (202 only from 2.101, past the fake's newest)."""
    data = body.get("volumeAttachment")
    if not isinstance(data, dict) or not data.get("volumeId"):
        raise bad_request("Invalid input for field/attribute volumeAttachment.")
    volume_id = str(data["volumeId"])
    await load(cloud, caller, server_id)
    device = await cloud.sim.compute.create_volume_attachment(server_id, volume_id)
    await record(cloud, request, caller, server_id, "attach_volume")
    return {"volumeAttachment": _attachment(request, server_id, volume_id, device)}


@router.delete("/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}", status_code=202)
async def detach(
    server_id: str, volume_id: str, request: Request, cloud: CloudDep, caller: WriterDep
) -> Response:
    await load(cloud, caller, server_id)
    if all(v.id != volume_id for v in await _attached(cloud, server_id)):
        # nova VolumeBDMNotFound -> 404
        raise not_found(f"Volume {volume_id} is not attached to instance {server_id}.")
    await cloud.sim.compute.delete_volume_attachment(server_id, volume_id)
    await record(cloud, request, caller, server_id, "detach_volume")
    return Response(status_code=202)


@router.get("/v2.1/os-availability-zone")
@router.get("/v2.1/os-availability-zone/detail")
async def availability_zones(caller: CallerDep) -> dict[str, Any]:
    return {
        "availabilityZoneInfo": [
            {"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}
        ]
    }


@router.get("/v2.1/os-keypairs")
async def keypairs(caller: CallerDep) -> dict[str, Any]:
    return {"keypairs": []}


@router.get("/v2.1/os-keypairs/{name}")
async def keypair(name: str, caller: CallerDep) -> dict[str, Any]:
    raise not_found(f"Keypair {name} not found for user {caller.user_id}")

"""os-instance-actions: one entry per accepted server request, keyed by the request id the
answer carried (nova/api/openstack/compute/instance_actions.py; reference 2)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.fakecloud.auth import Caller, CallerDep, CloudDep, visible
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.nova_common import (
    NovaRoute,
    iso_usec,
    microversion,
    not_found,
    request_id,
)
from stackgate.providers.simulator.tables import SimInstanceAction, SimServer

router = APIRouter(route_class=NovaRoute)


async def record(
    cloud: FakeCloud, request: Request, caller: Caller, server_id: str, action: str
) -> None:
    """Log `action` under this request's id, as Nova's API does once it accepts it."""
    project_id = caller.project_id or ""

    async def work(session: AsyncSession) -> None:
        server = await session.get(SimServer, server_id)
        session.add(
            SimInstanceAction(
                request_id=request_id(request),
                server_id=server_id,
                action=action,
                project_id=server.project_id if server is not None else project_id,
                user_id=caller.user_id,
                start_time=datetime.now(UTC),
                message=None,
            )
        )

    await cloud.sim.store.run(work, write=True)


def _body(request: Request, row: SimInstanceAction) -> dict[str, Any]:
    body: dict[str, Any] = {
        "action": row.action,
        "instance_uuid": row.server_id,
        "request_id": row.request_id,
        "user_id": row.user_id,
        "project_id": row.project_id,
        "start_time": iso_usec(row.start_time),
        "message": row.message,
    }
    if microversion(request) >= (2, 58):
        body["updated_at"] = iso_usec(row.start_time)
    return body


async def _actions(cloud: FakeCloud, caller: Caller, server_id: str) -> list[SimInstanceAction]:
    async def work(session: AsyncSession) -> list[SimInstanceAction] | None:
        server = await session.get(SimServer, server_id)
        stmt = (
            select(SimInstanceAction)
            .where(SimInstanceAction.server_id == server_id)
            .order_by(SimInstanceAction.start_time.desc())
        )
        rows = list((await session.scalars(stmt)).all())
        # From 2.21 the log outlives the server; its project is then the entries' own.
        owner = server.project_id if server is not None else (rows[0].project_id if rows else None)
        if owner is None or not visible(caller, owner):
            return None
        return rows

    rows = await cloud.sim.store.run(work)
    if rows is None:
        raise not_found(f"Instance {server_id} could not be found.")
    return rows


@router.get("/v2.1/servers/{server_id}/os-instance-actions")
async def list_actions(
    server_id: str, request: Request, cloud: CloudDep, caller: CallerDep
) -> dict[str, Any]:
    rows = await _actions(cloud, caller, server_id)
    return {"instanceActions": [_body(request, r) for r in rows]}


@router.get("/v2.1/servers/{server_id}/os-instance-actions/{rid}")
async def show_action(
    server_id: str, rid: str, request: Request, cloud: CloudDep, caller: CallerDep
) -> dict[str, Any]:
    rows = await _actions(cloud, caller, server_id)
    row = next((r for r in rows if r.request_id == rid), None)
    if row is None:
        raise not_found(f"Action {rid} could not be found.")
    body = _body(request, row)
    # One API-side event, finished when the request was accepted.
    body["events"] = [
        {
            "event": f"api_{row.action}",
            "start_time": iso_usec(row.start_time),
            "finish_time": iso_usec(row.start_time),
            "result": "Success",
            **({"traceback": None} if caller.is_admin else {}),
        }
    ]
    return {"instanceAction": body}

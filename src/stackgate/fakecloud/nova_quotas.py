"""Nova's default quotas per project (nova/conf/quota.py), counted from the project's servers
as Nova's unified limits / DB counting do, refused with 403 and TooManyInstances' wording
(nova/exception.py), plus /limits and /os-quota-sets for clients that show them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.fakecloud.auth import CallerDep, CloudDep
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.errors import CloudError
from stackgate.fakecloud.nova_common import NovaRoute
from stackgate.providers.simulator.tables import SimServer

router = APIRouter(route_class=NovaRoute)

LIMITS = {"instances": 10, "cores": 20, "ram": 51200}
_OTHER_LIMITS = {
    "key_pairs": 100,
    "metadata_items": 128,
    "server_groups": 10,
    "server_group_members": 10,
}


async def usage(cloud: FakeCloud, project_id: str) -> dict[str, int]:
    """What the project's servers hold now (every server counts until it is deleted)."""

    async def work(session: AsyncSession) -> dict[str, int]:
        stmt = select(SimServer.flavor).where(SimServer.project_id == project_id)
        flavors = list((await session.scalars(stmt)).all())
        return {
            "instances": len(flavors),
            "cores": sum(int(f["vcpus"]) for f in flavors),
            "ram": sum(int(f["ram_mb"]) for f in flavors),
        }

    return await cloud.sim.store.run(work)


async def check(cloud: FakeCloud, project_id: str, wanted: dict[str, int]) -> None:
    """403 when adding `wanted` would pass a limit, worded like nova.exception.TooManyInstances:
    `Quota exceeded for cores, ram: Requested 32, 98304, but already used 0, 0 of 20, 51200
    cores, ram`."""
    if not cloud.enforce_quotas:
        return
    used = await usage(cloud, project_id)
    over = [r for r, n in wanted.items() if n > 0 and used[r] + n > LIMITS[r]]
    if not over:
        return
    names = ", ".join(over)
    message = (
        f"Quota exceeded for {names}: Requested {', '.join(str(wanted[r]) for r in over)}, "
        f"but already used {', '.join(str(used[r]) for r in over)} of "
        f"{', '.join(str(LIMITS[r]) for r in over)} {names}"
    )
    raise CloudError("nova", 403, message)


@router.get("/v2.1/limits")
async def limits(cloud: CloudDep, caller: CallerDep) -> dict[str, Any]:
    used = await usage(cloud, caller.project_id or "")
    return {
        "limits": {
            "rate": [],
            "absolute": {
                "maxTotalInstances": LIMITS["instances"],
                "maxTotalCores": LIMITS["cores"],
                "maxTotalRAMSize": LIMITS["ram"],
                "maxTotalKeypairs": _OTHER_LIMITS["key_pairs"],
                "maxServerMeta": _OTHER_LIMITS["metadata_items"],
                "maxServerGroups": _OTHER_LIMITS["server_groups"],
                "maxServerGroupMembers": _OTHER_LIMITS["server_group_members"],
                "totalInstancesUsed": used["instances"],
                "totalCoresUsed": used["cores"],
                "totalRAMUsed": used["ram"],
                "totalServerGroupsUsed": 0,
            },
        }
    }


def _check_project(caller: Any, project_id: str) -> None:
    if not caller.is_admin and project_id != caller.project_id:
        raise CloudError("nova", 403, "Policy doesn't allow os_compute_api:os-quota-sets:show.")


@router.get("/v2.1/os-quota-sets/{project_id}/defaults")
async def quota_defaults(project_id: str, caller: CallerDep) -> dict[str, Any]:
    return {"quota_set": {"id": project_id, **LIMITS, **_OTHER_LIMITS}}


@router.get("/v2.1/os-quota-sets/{project_id}/detail")
async def quota_detail(project_id: str, cloud: CloudDep, caller: CallerDep) -> dict[str, Any]:
    _check_project(caller, project_id)
    used = await usage(cloud, project_id)
    limits = {**LIMITS, **_OTHER_LIMITS}
    return {
        "quota_set": {
            "id": project_id,
            **{k: {"limit": v, "in_use": used.get(k, 0), "reserved": 0} for k, v in limits.items()},
        }
    }


@router.get("/v2.1/os-quota-sets/{project_id}")
async def quota_show(project_id: str, caller: CallerDep) -> dict[str, Any]:
    _check_project(caller, project_id)
    return {"quota_set": {"id": project_id, **LIMITS, **_OTHER_LIMITS}}

"""Cinder's per-project quotas (cinder/quota.py defaults; over quota is 413 with Retry-After: 0,
worded as cinder/exception.py words it), os-quota-sets and /limits.

The check reads usage and then the simulator creates: not atomic as Cinder's reservations are,
which a test cloud does not need."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.fakecloud.auth import AdminDep, Caller, CallerDep, CloudDep
from stackgate.fakecloud.cinder_common import SERVICE, CinderRoute
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.errors import CloudError
from stackgate.providers.simulator.tables import SimCinderQuota, SimSnapshot, SimVolume

# cinder/quota.py: quota_volumes, quota_snapshots, quota_gigabytes, quota_backups,
# quota_backup_gigabytes, quota_groups, per_volume_size_limit.
DEFAULTS = {
    "volumes": 10,
    "snapshots": 10,
    "gigabytes": 1000,
    "backups": 10,
    "backup_gigabytes": 1000,
    "groups": 10,
    "per_volume_gigabytes": -1,
}
_RETRY = {"Retry-After": "0"}

router = APIRouter(route_class=CinderRoute)


async def limits_of(session: AsyncSession, project_id: str) -> dict[str, int]:
    rows = await session.scalars(
        select(SimCinderQuota).where(SimCinderQuota.project_id == project_id)
    )
    limits = dict(DEFAULTS)
    limits.update({r.resource: r.hard_limit for r in rows})
    return limits


async def usage_of(session: AsyncSession, project_id: str) -> dict[str, int]:
    """Volumes, snapshots and their gigabytes (snapshots count against `gigabytes` too, as with
    Cinder's default no_snapshot_gb_quota=False)."""
    volumes, volume_gb = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(SimVolume.size_gb), 0)).where(
                SimVolume.project_id == project_id
            )
        )
    ).one()
    snapshots, snapshot_gb = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(SimSnapshot.size_gb), 0))
            .join(SimVolume, SimVolume.id == SimSnapshot.volume_id)
            .where(SimVolume.project_id == project_id)
        )
    ).one()
    return {
        "volumes": int(volumes),
        "snapshots": int(snapshots),
        "gigabytes": int(volume_gb) + int(snapshot_gb),
        "backups": 0,
        "backup_gigabytes": 0,
        "groups": 0,
        "per_volume_gigabytes": 0,
    }


def _over(message: str) -> CloudError:
    return CloudError(SERVICE, 413, message, headers=_RETRY)


async def check_quota(
    cloud: FakeCloud,
    project_id: str,
    *,
    volumes: int = 0,
    snapshots: int = 0,
    gigabytes: int = 0,
    volume_size: int | None = None,
) -> None:
    """Raise Cinder's 413 when adding these to the project's usage passes a limit."""
    if not cloud.enforce_quotas:
        return

    async def read(session: AsyncSession) -> tuple[dict[str, int], dict[str, int]]:
        return await limits_of(session, project_id), await usage_of(session, project_id)

    limits, used = await cloud.sim.store.run(read)
    per_volume = limits["per_volume_gigabytes"]
    if volume_size is not None and per_volume >= 0 and volume_size > per_volume:
        raise _over(
            "VolumeSizeExceedsLimit: Requested volume size "
            f"{volume_size}G is larger than maximum allowed limit {per_volume}G."
        )
    if volumes and 0 <= limits["volumes"] < used["volumes"] + volumes:
        raise _over(
            "VolumeLimitExceeded: Maximum number of volumes allowed "
            f"({limits['volumes']}) exceeded for quota 'volumes'."
        )
    if snapshots and 0 <= limits["snapshots"] < used["snapshots"] + snapshots:
        raise _over(
            "SnapshotLimitExceeded: Maximum number of snapshots allowed "
            f"({limits['snapshots']}) exceeded"
        )
    if gigabytes and 0 <= limits["gigabytes"] < used["gigabytes"] + gigabytes:
        raise _over(
            "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed "
            f"gigabytes quota. Requested {gigabytes}G, quota is {limits['gigabytes']}G and "
            f"{used['gigabytes']}G has been consumed."
        )


def _may_read(caller: Caller, project_id: str) -> None:
    if not caller.is_admin and caller.project_id != project_id:
        raise CloudError(
            SERVICE, 403, "Policy doesn't allow volume_extension:quotas:show to be performed."
        )


async def _quota_set(cloud: FakeCloud, project_id: str, usage: bool) -> dict[str, Any]:
    async def read(session: AsyncSession) -> tuple[dict[str, int], dict[str, int]]:
        return await limits_of(session, project_id), await usage_of(session, project_id)

    limits, used = await cloud.sim.store.run(read)
    body: dict[str, Any] = {"id": project_id}
    for name, limit in limits.items():
        body[name] = (
            {"limit": limit, "in_use": used.get(name, 0), "reserved": 0, "allocated": 0}
            if usage
            else limit
        )
    return body


@router.get("/os-quota-sets/{target_id}")
async def show_quota_set(
    target_id: str, request: Request, cloud: CloudDep, caller: CallerDep
) -> JSONResponse:
    _may_read(caller, target_id)
    usage = request.query_params.get("usage", "").lower() in ("1", "true", "yes")
    return JSONResponse({"quota_set": await _quota_set(cloud, target_id, usage)})


@router.get("/os-quota-sets/{target_id}/defaults")
async def quota_defaults(target_id: str, caller: CallerDep) -> JSONResponse:
    return JSONResponse({"quota_set": {"id": target_id, **DEFAULTS}})


@router.put("/os-quota-sets/{target_id}")
async def update_quota_set(
    target_id: str,
    cloud: CloudDep,
    caller: AdminDep,
    body: dict[str, Any] = Body(...),
) -> JSONResponse:
    """cinder/api/contrib/quotas.py update(): admin only; known resources, integers >= -1."""
    wanted = body.get("quota_set")
    if not isinstance(wanted, dict):
        raise CloudError(SERVICE, 400, "Missing required element 'quota_set' in request body.")
    changes: dict[str, int] = {}
    for name, value in wanted.items():
        if name in ("tenant_id", "id"):
            continue
        if name not in DEFAULTS:
            raise CloudError(SERVICE, 400, f"Bad key(s) in quota set: {name}")
        try:
            limit = int(value)
        except (TypeError, ValueError):
            raise CloudError(SERVICE, 400, f"Quota limit for {name} must be an integer.") from None
        if limit < -1:
            raise CloudError(SERVICE, 400, f"Quota limit for {name} must be -1 or greater.")
        changes[name] = limit

    async def work(session: AsyncSession) -> None:
        for name, limit in changes.items():
            row = await session.get(SimCinderQuota, (target_id, name))
            if row is None:
                session.add(SimCinderQuota(project_id=target_id, resource=name, hard_limit=limit))
            else:
                row.hard_limit = limit

    await cloud.sim.store.run(work, write=True)
    quota = await _quota_set(cloud, target_id, usage=False)
    quota.pop("id")
    return JSONResponse({"quota_set": quota})


@router.get("/limits")
async def limits(cloud: CloudDep, caller: CallerDep) -> JSONResponse:
    """cinder/api/views/limits.py: the absolute limits and usage of the caller's project."""
    quota = await _quota_set(cloud, caller.project_id or "", usage=True)
    absolute = {
        "maxTotalVolumes": quota["volumes"]["limit"],
        "maxTotalSnapshots": quota["snapshots"]["limit"],
        "maxTotalVolumeGigabytes": quota["gigabytes"]["limit"],
        "maxTotalBackups": quota["backups"]["limit"],
        "maxTotalBackupGigabytes": quota["backup_gigabytes"]["limit"],
        "totalVolumesUsed": quota["volumes"]["in_use"],
        "totalSnapshotsUsed": quota["snapshots"]["in_use"],
        "totalGigabytesUsed": quota["gigabytes"]["in_use"],
        "totalBackupsUsed": 0,
        "totalBackupGigabytesUsed": 0,
    }
    return JSONResponse({"limits": {"rate": [], "absolute": absolute}})

"""Quotas: OpenStack's defaults, the pure arithmetic, and enforcement inside the caller's unit
of work (the project row is locked first, so parallel creates cannot both pass)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from stackgate.core.uow import UnitOfWork
from stackgate.identity.errors import ProjectNotFound, QuotaExceeded
from stackgate.identity.repository import IdentityRepository

# OpenStack's defaults: Nova (nova/conf/quota.py), Cinder (cinder/quota.py) and Neutron
# (neutron/conf/quota.py), as DESIGN.md 5 lists them.
DEFAULT_QUOTAS: dict[str, int] = {
    "instances": 10,
    "cores": 20,
    "ram": 51200,
    "volumes": 10,
    "snapshots": 10,
    "gigabytes": 1000,
    "networks": 100,
    "subnets": 100,
    "ports": 500,
    "floating_ips": 50,
    "security_groups": 10,
    "security_group_rules": 100,
}
UNLIMITED = -1

UsageFn = Callable[[UnitOfWork, str], Awaitable[Mapping[str, int]]]


def combined(*fns: UsageFn) -> UsageFn:
    """One usage function over every feature's resources (each feature counts its own)."""

    async def usage(uow: UnitOfWork, project_id: str) -> dict[str, int]:
        total: dict[str, int] = {}
        for fn in fns:
            total.update(await fn(uow, project_id))
        return total

    return usage


def effective_limits(explicit: Mapping[str, int]) -> dict[str, int]:
    return {name: explicit.get(name, default) for name, default in DEFAULT_QUOTAS.items()}


def check(limits: Mapping[str, int], usage: Mapping[str, int], deltas: Mapping[str, int]) -> None:
    """Raise QuotaExceeded for the first resource the request would push over its limit."""
    for resource, delta in deltas.items():
        limit = limits.get(resource, UNLIMITED)
        if delta <= 0 or limit == UNLIMITED:
            continue
        in_use = usage.get(resource, 0)
        if in_use + delta > limit:
            raise QuotaExceeded(resource, limit, in_use, delta)


async def enforce(
    uow: UnitOfWork, project_id: str, deltas: Mapping[str, int], usage: UsageFn
) -> None:
    """Check `deltas` against the project's limits and current usage, holding the project's
    quota lock until the caller's transaction ends; free when every limit involved is -1."""
    repo = IdentityRepository(uow.session)
    limits = effective_limits(await repo.quota_limits(project_id))
    if all(limits.get(r, UNLIMITED) == UNLIMITED or d <= 0 for r, d in deltas.items()):
        return
    if not await repo.lock_project(project_id):
        raise ProjectNotFound(project_id)
    check(limits, await usage(uow, project_id), deltas)

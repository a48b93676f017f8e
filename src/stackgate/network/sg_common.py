"""What other features call inside their own unit of work: the project's default group
(ensure_default_group), group references (resolve_groups), port links (set_port_groups) and
quota usage (sg_usage); plus the row builders the security group service shares."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.clock import utcnow
from stackgate.core.context import RequestContext
from stackgate.core.errors import AmbiguousReference
from stackgate.core.ids import new_id
from stackgate.core.operations import Operation
from stackgate.core.uow import UnitOfWork
from stackgate.identity.public import IdentityRepository
from stackgate.network import rules as sg_rules
from stackgate.network.models import SecurityGroup, SecurityGroupRule
from stackgate.network.sg_errors import UnknownSecurityGroup
from stackgate.network.sg_repository import SecurityGroupRepository

DEFAULT_NAME = "default"
DEFAULT_DESCRIPTION = "Default security group"
GROUP = "security_group"
RULE = "security_group_rule"
# Deadline of operations made by the module functions (callers have no config at hand).
OPERATION_TIMEOUT = timedelta(seconds=600)


def new_operation(
    *,
    project_id: str,
    resource_type: str,
    resource_id: str,
    action: str,
    params: dict[str, object] | None = None,
    user_id: str | None = None,
    request_id: str | None = None,
    now: datetime | None = None,
    timeout: timedelta = OPERATION_TIMEOUT,
) -> Operation:
    return Operation.due_now(
        project_id=project_id,
        user_id=user_id,
        request_id=request_id,
        resource_type=resource_type,
        resource_id=resource_id,
        action=action,
        params=dict(params) if params else None,
        now=now or utcnow(),
        timeout=timeout,
    )


def rule_row(
    group: SecurityGroup, rule: sg_rules.Rule, description: str | None
) -> SecurityGroupRule:
    return SecurityGroupRule(
        id=new_id(),
        security_group_id=group.id,
        project_id=group.project_id,
        direction=rule.direction,
        ethertype=rule.ethertype,
        protocol=rule.protocol,
        port_range_min=rule.port_range_min,
        port_range_max=rule.port_range_max,
        remote_ip_prefix=rule.remote_ip_prefix,
        remote_group_id=rule.remote_group_id,
        description=description,
        rule_key=rule.key,
        created_at=utcnow(),
    )


def new_group(
    uow: UnitOfWork,
    *,
    project_id: str,
    name: str,
    description: str | None,
    default: bool,
    user_id: str | None = None,
    request_id: str | None = None,
    timeout: timedelta = OPERATION_TIMEOUT,
) -> tuple[SecurityGroup, list[SecurityGroupRule]]:
    """A group row, its starting rules (adopted from the cloud by the worker) and its create
    operation."""
    now = utcnow()
    group = SecurityGroup(
        id=new_id(),
        project_id=project_id,
        name=name,
        description=description,
        default_for=project_id if default else None,
        created_at=now,
        updated_at=now,
    )
    starting = sg_rules.default_group_rules(group.id) if default else sg_rules.egress_defaults()
    rows = [rule_row(group, rule, None) for rule in starting]
    uow.session.add(group)
    uow.session.add_all(rows)
    uow.operations.add(
        new_operation(
            project_id=project_id,
            resource_type=GROUP,
            resource_id=group.id,
            action="create",
            params={"default": default},
            user_id=user_id,
            request_id=request_id,
            now=now,
            timeout=timeout,
        )
    )
    return group, rows


async def ensure_default_group(uow: UnitOfWork, project_id: str) -> SecurityGroup:
    """The project's `default` group, made on first use with its 4 rules (Neutron's legacy
    defaults) and its create operation; exactly one per project even under concurrency.

    The default group counts against the security_groups quota but is never refused by it."""
    repo = SecurityGroupRepository(uow.session)
    found = await repo.default_of(project_id)
    if found is not None:
        return found
    # Serialise with other first uses of this project; default_for is unique as a last guard.
    await IdentityRepository(uow.session).lock_project(project_id)
    found = await repo.default_of(project_id)
    if found is not None:
        return found
    group, _ = new_group(
        uow,
        project_id=project_id,
        name=DEFAULT_NAME,
        description=DEFAULT_DESCRIPTION,
        default=True,
    )
    await uow.session.flush()
    return group


async def deleting(uow: UnitOfWork, resource_id: str) -> bool:
    return any(op.action == "delete" for op in await uow.operations.open_for_resource(resource_id))


async def resolve_groups(
    uow: UnitOfWork, ctx: RequestContext, refs: Sequence[str]
) -> list[SecurityGroup]:
    """The caller's project's groups named (or with the ids) in `refs`, in order, without
    duplicates; an empty list means the default group. Unknown -> 400 naming
    `security_groups`."""
    if not refs:
        return [await ensure_default_group(uow, ctx.project_id)]
    repo = SecurityGroupRepository(uow.session)
    found: dict[str, SecurityGroup] = {}
    for ref in refs:
        if ref == DEFAULT_NAME:
            group = await ensure_default_group(uow, ctx.project_id)
        else:
            matches = list(await repo.find(ctx.project_id, ref))
            by_id = [g for g in matches if g.id == ref]
            if by_id:
                matches = by_id
            if not matches:
                raise UnknownSecurityGroup("security_groups", ref)
            if len(matches) > 1:
                raise AmbiguousReference("security_groups", ref, "security group")
            group = matches[0]
        if await deleting(uow, group.id):
            raise UnknownSecurityGroup("security_groups", ref)
        found.setdefault(group.id, group)
    return list(found.values())


async def set_port_groups(uow: UnitOfWork, port_id: str, groups: Sequence[SecurityGroup]) -> None:
    """Link exactly `groups` to the port (the caller queues the "port"/"update" operation)."""
    await SecurityGroupRepository(uow.session).set_port_groups(port_id, [g.id for g in groups])


async def groups_of_ports(
    session: AsyncSession, port_ids: Sequence[str]
) -> dict[str, list[SecurityGroup]]:
    """The groups linked to each port (for server and port bodies)."""
    repo = SecurityGroupRepository(session)
    found: dict[str, list[SecurityGroup]] = {}
    for port_id in port_ids:
        found[port_id] = list(await repo.get_many(await repo.groups_of_port(port_id)))
    return found


async def sg_usage(uow: UnitOfWork, project_id: str) -> dict[str, int]:
    """security_groups and security_group_rules of the project (quota usage)."""
    return await SecurityGroupRepository(uow.session).usage(project_id)


def is_default(group: SecurityGroup) -> bool:
    return group.default_for is not None

"""Security group use cases, and what other use cases run inside their own unit of work: the
project's default group made on first use (ensure_default_group), group references
(resolve_groups) and the quota usage (sg_usage)."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.context import RequestContext
from stackgate.core.errors import AmbiguousReference
from stackgate.core.operations import Operation, OperationFactory
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.uow import UnitOfWork
from stackgate.identity.public import lock_project, policy, quotas
from stackgate.network.models import SecurityGroup, SecurityGroupRule
from stackgate.network.repository import deleting
from stackgate.network.security_groups.errors import (
    DefaultGroupProtected,
    GroupBeingDeleted,
    InvalidRule,
    ReservedGroupName,
    RuleExists,
    SecurityGroupInUse,
    SecurityGroupNotFound,
    SecurityGroupRuleNotFound,
    UnknownSecurityGroup,
)
from stackgate.network.security_groups.repository import SecurityGroupRepository
from stackgate.network.security_groups.schemas import GroupCreate, GroupUpdate, RuleCreate
from stackgate.semantics import neutron

GROUP = "security_group"
RULE = "security_group_rule"


def new_group(
    uow: UnitOfWork,
    ctx: RequestContext | None,
    *,
    project_id: str,
    name: str,
    description: str | None,
    default: bool,
    operations: OperationFactory,
) -> tuple[SecurityGroup, list[SecurityGroupRule]]:
    """A group row, its starting rules (adopted from the cloud by the worker) and its create
    operation."""
    now = operations.clock.now()
    group, rows = SecurityGroupRepository(uow.session).add_group(
        project_id=project_id, name=name, description=description, default=default, now=now
    )
    uow.operations.add(
        operations.due_now(
            project_id=project_id,
            resource_type=GROUP,
            resource_id=group.id,
            action="create",
            params={"default": default},
            user_id=ctx.user_id if ctx else None,
            request_id=ctx.request_id if ctx else None,
            now=now,
        )
    )
    return group, rows


async def ensure_default_group(
    uow: UnitOfWork, project_id: str, *, operations: OperationFactory
) -> SecurityGroup:
    """The project's `default` group, made on first use with its 4 rules (Neutron's legacy
    defaults) and its create operation; exactly one per project even under concurrency.

    The default group counts against the security_groups quota but is never refused by it."""
    repo = SecurityGroupRepository(uow.session)
    found = await repo.default_of(project_id)
    if found is not None:
        return found
    # Serialise with other first uses of this project; default_for is unique as a last guard.
    await lock_project(uow, project_id)
    found = await repo.default_of(project_id)
    if found is not None:
        return found
    group, _ = new_group(
        uow,
        None,
        project_id=project_id,
        name=neutron.DEFAULT_GROUP_NAME,
        description=neutron.DEFAULT_GROUP_DESCRIPTION,
        default=True,
        operations=operations,
    )
    await uow.session.flush()
    return group


async def resolve_groups(
    uow: UnitOfWork, ctx: RequestContext, refs: Sequence[str], *, operations: OperationFactory
) -> list[SecurityGroup]:
    """The caller's project's groups named (or with the ids) in `refs`, in order, without
    duplicates; an empty list means the default group. Unknown -> 400 naming
    `security_groups`."""
    if not refs:
        return [await ensure_default_group(uow, ctx.project_id, operations=operations)]
    repo = SecurityGroupRepository(uow.session)
    found: dict[str, SecurityGroup] = {}
    for ref in refs:
        if ref == neutron.DEFAULT_GROUP_NAME:
            group = await ensure_default_group(uow, ctx.project_id, operations=operations)
        else:
            matches = list(await repo.find(ctx.project_id, ref))
            by_id = [g for g in matches if g.id == ref]
            if by_id:
                matches = by_id
            if not matches:
                names = [neutron.DEFAULT_GROUP_NAME, *await repo.names(ctx.project_id)]
                raise UnknownSecurityGroup("security_groups", ref, names)
            if len(matches) > 1:
                raise AmbiguousReference("security_groups", ref, "security group")
            group = matches[0]
        if await deleting(uow, group.id):
            raise UnknownSecurityGroup("security_groups", ref)
        found.setdefault(group.id, group)
    return list(found.values())


async def sg_usage(uow: UnitOfWork, project_id: str) -> dict[str, int]:
    """security_groups and security_group_rules of the project (quota usage)."""
    return await SecurityGroupRepository(uow.session).usage(project_id)


class SecurityGroupUoW(UnitOfWork):
    groups: SecurityGroupRepository

    def _attach(self, session: AsyncSession) -> None:
        self.groups = SecurityGroupRepository(session)


@dataclass(slots=True)
class GroupDetail:
    group: SecurityGroup
    rules: list[SecurityGroupRule] = field(default_factory=list)


class SecurityGroupService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        operations: OperationFactory,
        wakeup: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._operations = operations
        self._clock = operations.clock
        self._wakeup = wakeup

    def uow(self) -> SecurityGroupUoW:
        return SecurityGroupUoW(self._sessionmaker)

    def _op(
        self, ctx: RequestContext, kind: str, resource_id: str, action: str, **params: object
    ) -> Operation:
        return self._operations.due_now(
            project_id=ctx.project_id,
            resource_type=kind,
            resource_id=resource_id,
            action=action,
            params=dict(params) if params else None,
            user_id=ctx.user_id,
            request_id=ctx.request_id,
        )

    async def _load(
        self, uow: SecurityGroupUoW, ctx: RequestContext, group_id: str
    ) -> SecurityGroup:
        """The caller's group (the cloud admin reaches every project's); else 404."""
        if ctx.is_admin:
            group = await uow.groups.get_unscoped(group_id)
        else:
            group = await uow.groups.get(ctx.project_id, group_id)
        if group is None:
            raise SecurityGroupNotFound(group_id)
        return group

    async def _detail(self, uow: SecurityGroupUoW, group: SecurityGroup) -> GroupDetail:
        rules = await uow.groups.rules_of([group.id])
        return GroupDetail(group, rules[group.id])

    async def _ensure_default(self, project_id: str) -> None:
        """Neutron makes the project's default group on its first security group call."""
        async with self.uow() as uow:
            if await uow.groups.default_of(project_id) is not None:
                return
        async with self.uow() as uow:
            await self._lock(uow, project_id)
            await ensure_default_group(uow, project_id, operations=self._operations)
            await uow.commit()
        self._wakeup()

    async def _lock(self, uow: SecurityGroupUoW, project_id: str) -> None:
        """Serialise the project's security group writes; first statement of the transaction,
        so SQLite takes its write lock before reading (no stale snapshot to upgrade)."""
        await lock_project(uow, project_id)

    async def list(
        self, ctx: RequestContext, *, name: str | None, page: PageRequest
    ) -> PageResult[GroupDetail]:
        """The project's groups with their rules (the default group made on first use)."""
        policy.enforce(ctx, "security_group:read")
        await self._ensure_default(ctx.project_id)
        async with self.uow() as uow:
            found = await uow.groups.list(ctx.project_id, name=name, page=page)
            rules = await uow.groups.rules_of([g.id for g in found.items])
        return PageResult(
            items=[GroupDetail(g, rules[g.id]) for g in found.items],
            total=found.total,
            page=found.page,
            per_page=found.per_page,
            next_cursor=found.next_cursor,
        )

    async def get(self, ctx: RequestContext, group_id: str) -> GroupDetail:
        """One group with its rules."""
        policy.enforce(ctx, "security_group:read")
        async with self.uow() as uow:
            return await self._detail(uow, await self._load(uow, ctx, group_id))

    async def create(self, ctx: RequestContext, data: GroupCreate) -> GroupDetail:
        """A group with Neutron's 2 egress rules; both count against the quotas."""
        policy.enforce(ctx, "security_group:write")
        if data.name == neutron.DEFAULT_GROUP_NAME:
            raise ReservedGroupName()
        async with self.uow() as uow:
            await self._lock(uow, ctx.project_id)
            await ensure_default_group(uow, ctx.project_id, operations=self._operations)
            starting = len(neutron.egress_defaults())
            await quotas.enforce(
                uow,
                ctx.project_id,
                {"security_groups": 1, "security_group_rules": starting},
                sg_usage,
            )
            group, rows = new_group(
                uow,
                ctx,
                project_id=ctx.project_id,
                name=data.name,
                description=data.description,
                default=False,
                operations=self._operations,
            )
            await uow.commit()
        self._wakeup()
        return GroupDetail(group, rows)

    async def update(self, ctx: RequestContext, group_id: str, data: GroupUpdate) -> GroupDetail:
        """Rename or describe a group (the default group keeps its name: 409)."""
        policy.enforce(ctx, "security_group:write")
        async with self.uow() as uow:
            group = await self._load(uow, ctx, group_id)
            changes = data.model_dump(exclude_unset=True)
            if data.name is not None and data.name != group.name:
                if group.default_for is not None:
                    raise DefaultGroupProtected("renamed")
                if data.name == neutron.DEFAULT_GROUP_NAME:
                    raise ReservedGroupName()
                group.name = data.name
            if "description" in changes:
                group.description = data.description
            group.updated_at = self._clock.now()
            await uow.commit()
            return await self._detail(uow, group)

    async def delete(self, ctx: RequestContext, group_id: str) -> GroupDetail:
        """Queue the group's deletion (202); refused while a port uses it or another group's
        rule names it as remote group, and for the default group unless by the cloud admin."""
        policy.enforce(ctx, "security_group:write")
        async with self.uow() as uow:
            await self._lock(uow, ctx.project_id)
            group = await self._load(uow, ctx, group_id)
            if group.default_for is not None and not ctx.is_admin:
                raise DefaultGroupProtected("deleted except by the cloud admin")
            detail = await self._detail(uow, group)
            if await deleting(uow, group.id):
                return detail
            if group.project_id != ctx.project_id:
                # Serialise with the project's port creates, which link groups under this lock.
                await self._lock(uow, group.project_id)
            ports = await uow.groups.ports_using(group.id)
            if ports:
                raise SecurityGroupInUse(group.id, f"{ports} port(s) use it")
            referencing = sorted(
                {r.security_group_id for r in await uow.groups.referencing_rules(group.id)}
            )
            if referencing:
                raise SecurityGroupInUse(
                    group.id,
                    "rules of security group(s) "
                    f"{', '.join(referencing)} name it as remote group; delete those rules first",
                )
            for resource_id in [group.id, *(r.id for r in detail.rules)]:
                for op in await uow.operations.open_for_resource(resource_id):
                    op.cancel("superseded by the group's delete", now=self._clock.now())
            uow.operations.add(self._op(ctx, GROUP, group.id, "delete"))
            await uow.commit()
        self._wakeup()
        return detail

    async def _writable(
        self, uow: SecurityGroupUoW, ctx: RequestContext, group_id: str
    ) -> SecurityGroup:
        group = await self._load(uow, ctx, group_id)
        if await deleting(uow, group.id):
            raise GroupBeingDeleted(group.id)
        return group

    async def add_rule(
        self, ctx: RequestContext, group_id: str, data: RuleCreate
    ) -> SecurityGroupRule:
        """Validate, normalise and queue a rule (202); an identical rule -> 409 rule_exists."""
        policy.enforce(ctx, "security_group:write")
        try:
            rule = neutron.normalise(**data.model_dump(exclude={"description"}))
        except neutron.InvalidRule as exc:
            raise InvalidRule(exc.field, exc.reason) from None
        async with self.uow() as uow:
            await self._lock(uow, ctx.project_id)
            group = await self._writable(uow, ctx, group_id)
            if rule.remote_group_id is not None:
                remote = await uow.groups.get(group.project_id, rule.remote_group_id)
                if remote is None or await deleting(uow, remote.id):
                    raise InvalidRule(
                        "remote_group_id",
                        f"no security group {rule.remote_group_id} in the group's project",
                    )
            existing = await uow.groups.rule_by_key(group.id, rule.key)
            if existing is not None:
                raise RuleExists(existing.id)
            await quotas.enforce(uow, group.project_id, {"security_group_rules": 1}, sg_usage)
            row = uow.groups.add_rule(group, rule, data.description, now=self._clock.now())
            uow.operations.add(self._op(ctx, RULE, row.id, "create", security_group_id=group.id))
            try:
                await uow.commit()
            except IntegrityError:
                # The unique (group, rule_key) caught a concurrent identical create.
                raise RuleExists(await self._rule_id_of(group.id, rule.key)) from None
        self._wakeup()
        return row

    async def _rule_id_of(self, group_id: str, key: str) -> str | None:
        async with self.uow() as uow:
            found = await uow.groups.rule_by_key(group_id, key)
            return found.id if found is not None else None

    async def list_rules(
        self, ctx: RequestContext, group_id: str
    ) -> builtins.list[SecurityGroupRule]:
        """A group's rules, oldest first."""
        policy.enforce(ctx, "security_group:read")
        async with self.uow() as uow:
            return (await self._detail(uow, await self._load(uow, ctx, group_id))).rules

    async def get_rule(self, ctx: RequestContext, group_id: str, rule_id: str) -> SecurityGroupRule:
        """One rule of a group."""
        policy.enforce(ctx, "security_group:read")
        async with self.uow() as uow:
            group = await self._load(uow, ctx, group_id)
            rule = await uow.groups.rule(group.id, rule_id)
            if rule is None:
                raise SecurityGroupRuleNotFound(rule_id)
            return rule

    async def delete_rule(
        self, ctx: RequestContext, group_id: str, rule_id: str
    ) -> SecurityGroupRule:
        """Queue a rule's deletion (202); the row goes once the cloud has deleted it."""
        policy.enforce(ctx, "security_group:write")
        async with self.uow() as uow:
            group = await self._writable(uow, ctx, group_id)
            rule = await uow.groups.rule(group.id, rule_id)
            if rule is None:
                raise SecurityGroupRuleNotFound(rule_id)
            open_ops = await uow.operations.open_for_resource(rule.id)
            if any(op.action == "delete" for op in open_ops):
                return rule
            for op in open_ops:
                op.cancel("superseded by the rule's delete", now=self._clock.now())
            uow.operations.add(self._op(ctx, RULE, rule.id, "delete", security_group_id=group.id))
            await uow.commit()
        self._wakeup()
        return rule

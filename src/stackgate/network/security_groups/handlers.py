"""Worker side of security groups and rules: make them in the cloud, adopt what the cloud made
by itself (the default group, the egress rules of a new group), delete them, then record it.

Each step reads (short transaction), calls the cloud with no transaction open, and writes in a
second short transaction that first checks the lease is still ours. Every step is repeatable:
a retried group create finds its group by tag; a retried rule create that meets Neutron's
"rule exists" adopts the existing rule.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime

from stackgate.core.operations import Operation, OpResult
from stackgate.core.tags import tag_for
from stackgate.network.models import SecurityGroup, SecurityGroupRule
from stackgate.network.security_groups.service import GROUP, RULE, SecurityGroupUoW
from stackgate.providers.base import (
    ProviderConflict,
    ProviderError,
    ProviderNotFound,
    ProviderUnavailable,
)
from stackgate.providers.network import (
    ProviderRule,
    ProviderSecurityGroup,
    RuleSpec,
    SecurityGroupSpec,
)
from stackgate.semantics import neutron
from stackgate.worker.handler import Kind, OperationHandler, Outcome


@dataclass(slots=True)
class GroupDetail:
    """What a step learned: the group's cloud id and its cloud rules by our rule key, or the
    cloud id of one rule."""

    group_provider_id: str | None = None
    rule_ids: dict[str, str] = field(default_factory=dict)
    rule_provider_id: str | None = None


Result = Outcome[GroupDetail]


def _done(detail: GroupDetail | None = None) -> Result:
    return Outcome(Kind.DONE, detail=detail or GroupDetail())


@dataclass(frozen=True, slots=True)
class Facts:
    """What the cloud call needs, read in the first transaction."""

    kind: str
    action: str
    group: SecurityGroup
    rule: SecurityGroupRule | None
    remote_provider_id: str | None
    remote_ready: bool


def provider_key(rule: ProviderRule, group_pid: str, group_id: str) -> str | None:
    """Our rule_key of a cloud rule (its remote group translated to our id when it is the
    group itself); None when we cannot express it."""
    remote = group_id if rule.remote_group_id == group_pid else rule.remote_group_id
    try:
        return neutron.renormalise(
            neutron.Rule(
                direction=rule.direction,
                ethertype=rule.ethertype,
                protocol=rule.protocol,
                port_range_min=rule.port_range_min,
                port_range_max=rule.port_range_max,
                remote_ip_prefix=rule.remote_ip_prefix,
                remote_group_id=remote,
            )
        ).key
    except neutron.InvalidRule:
        return None


class SecurityGroupOperationHandler(OperationHandler[SecurityGroupUoW, Facts, GroupDetail]):
    """Drives "security_group" and "security_group_rule" operations."""

    def uow(self) -> SecurityGroupUoW:
        return SecurityGroupUoW(self._sessionmaker)

    def on_provider_error(self, exc: ProviderError) -> Result:
        # A cloud that could not be asked is asked again; anything else it said is final.
        if isinstance(exc, ProviderUnavailable):
            return Outcome(Kind.RETRY, f"cloud unavailable: {exc.message}")
        return Outcome(Kind.FAILED, exc.message)

    async def load(self, uow: SecurityGroupUoW, op: Operation) -> Facts | Result:
        rule: SecurityGroupRule | None = None
        if op.resource_type == RULE:
            rule = await uow.groups.rule_unscoped(op.resource_id)
            group_id = (
                rule.security_group_id
                if rule is not None
                else str(op.params.get("security_group_id", ""))
            )
        else:
            group_id = op.resource_id
        group = await uow.groups.get_unscoped(group_id)
        if group is None or (op.resource_type == RULE and rule is None):
            # Already removed (the group's delete took its rules): nothing left to do.
            kind = Kind.DONE if op.action == "delete" else Kind.FAILED
            return Outcome(kind, "row is gone", detail=GroupDetail())
        remote_pid, remote_ready = None, True
        if rule is not None and rule.remote_group_id is not None:
            remote = await uow.groups.get_unscoped(rule.remote_group_id)
            remote_pid = remote.provider_id if remote is not None else None
            remote_ready = remote_pid is not None
        return Facts(op.resource_type, op.action, group, rule, remote_pid, remote_ready)

    async def drive(self, f: Facts) -> Result:
        if f.kind == GROUP:
            if f.action == "create":
                return await self._create_group(f.group)
            if f.action == "delete":
                return await self._delete_group(f.group)
        elif f.rule is not None:
            if f.action == "create":
                return await self._create_rule(f)
            if f.action == "delete":
                return await self._delete_rule(f.group, f.rule)
        return Outcome(Kind.FAILED, f"unsupported operation {f.kind}/{f.action}")

    async def _find_group(self, group: SecurityGroup) -> ProviderSecurityGroup | None:
        """The group in the cloud: the project's default group is Neutron's own (adopted;
        asking for it makes it on first use), any other one carries our tag."""
        network = self._provider.network
        if group.default_for is not None:
            return await network.find_security_group(
                neutron.DEFAULT_GROUP_NAME, project_id=group.project_id
            )
        found = await network.security_groups(tags=(tag_for(group.id),))
        return found[0] if found else None

    async def _create_group(self, group: SecurityGroup) -> Result:
        cloud = await self._find_group(group)
        if cloud is None:
            spec = SecurityGroupSpec(
                name=group.name,
                project_id=group.project_id,
                description=group.description or "",
                tags=(tag_for(group.id),),
            )
            cloud = await self._provider.network.create_security_group(spec)
        return _done(GroupDetail(group_provider_id=cloud.id, rule_ids=self._adopt(group, cloud)))

    def _adopt(self, group: SecurityGroup, cloud: ProviderSecurityGroup) -> dict[str, str]:
        """The cloud's rules of the group by our rule_key (to record their provider ids)."""
        found: dict[str, str] = {}
        for rule in cloud.rules:
            key = provider_key(rule, cloud.id, group.id)
            if key is not None:
                found.setdefault(key, rule.id)
        return found

    async def _delete_group(self, group: SecurityGroup) -> Result:
        pid = group.provider_id
        if pid is None and group.default_for is None:
            cloud = await self._find_group(group)  # a create we cancelled may have made it
            pid = cloud.id if cloud is not None else None
        if pid is not None:
            try:
                await self._provider.network.delete_security_group(pid)
            except ProviderNotFound:
                pass
            except ProviderConflict as exc:
                # In use in the cloud (a port delete is still pending): try again later.
                return Outcome(Kind.RETRY, exc.message)
        return _done()

    async def _create_rule(self, f: Facts) -> Result:
        group, rule = f.group, f.rule
        assert rule is not None
        if rule.provider_id is not None:
            return _done(GroupDetail(rule_provider_id=rule.provider_id))
        if group.provider_id is None:
            return Outcome(Kind.PROGRESS, "waiting for the group to exist in the cloud")
        if not f.remote_ready:
            return Outcome(Kind.PROGRESS, "waiting for the remote group to exist in the cloud")
        spec = RuleSpec(
            security_group_id=group.provider_id,
            direction=rule.direction,
            ethertype=rule.ethertype,
            protocol=rule.protocol,
            port_range_min=rule.port_range_min,
            port_range_max=rule.port_range_max,
            remote_ip_prefix=rule.remote_ip_prefix,
            remote_group_id=f.remote_provider_id,
            description=rule.description or "",
        )
        try:
            made = await self._provider.network.create_security_group_rule(spec)
        except ProviderConflict as exc:
            # "Rule exists": an earlier attempt (or the cloud's own defaults) made it. Adopt.
            cloud = await self._find_group(group)
            adopted = self._adopt(group, cloud).get(rule.rule_key) if cloud else None
            if adopted is None:
                return Outcome(Kind.FAILED, exc.message)
            return _done(GroupDetail(rule_provider_id=adopted))
        return _done(GroupDetail(rule_provider_id=made.id))

    async def _delete_rule(self, group: SecurityGroup, rule: SecurityGroupRule) -> Result:
        pid = rule.provider_id
        if pid is None and group.provider_id is not None:
            cloud = await self._find_group(group)  # a cancelled create may have made it
            pid = self._adopt(group, cloud).get(rule.rule_key) if cloud else None
        if pid is not None:
            with contextlib.suppress(ProviderNotFound):
                await self._provider.network.delete_security_group_rule(pid)
        return _done()

    async def record_unloaded(
        self, uow: SecurityGroupUoW, op: Operation, outcome: Result, now: datetime
    ) -> None:
        if now >= op.deadline_at:
            outcome = Outcome(Kind.FAILED, f"{op.action} did not finish within its deadline")
        await self._apply(uow, op, outcome, now)

    async def record(
        self, uow: SecurityGroupUoW, op: Operation, facts: Facts, outcome: Result, now: datetime
    ) -> None:
        await self._apply(uow, op, outcome, now)

    async def _apply(
        self, uow: SecurityGroupUoW, op: Operation, outcome: Result, now: datetime
    ) -> None:
        match outcome.kind:
            case Kind.RETRY if now >= op.deadline_at:
                op.finish(OpResult.ERROR, outcome.message, now=now)
            case Kind.PROGRESS | Kind.RETRY:
                self.reschedule(op, outcome, now)
            case Kind.DONE:
                await self._settle(uow, op, outcome.detail or GroupDetail())
                op.finish(OpResult.SUCCESS, outcome.message, now=now)
            case _:
                await self._fail(uow, op)
                op.finish(OpResult.ERROR, outcome.message, now=now)

    async def _settle(self, uow: SecurityGroupUoW, op: Operation, outcome: GroupDetail) -> None:
        repo = uow.groups
        if op.resource_type == GROUP:
            group = await repo.get_unscoped(op.resource_id)
            if group is None:
                return
            if op.action == "delete":
                await repo.remove_group(group)
                return
            group.provider_id = outcome.group_provider_id
            rules = (await repo.rules_of([group.id]))[group.id]
            for rule in rules:
                if rule.provider_id is None and rule.rule_key in outcome.rule_ids:
                    rule.provider_id = outcome.rule_ids[rule.rule_key]
                elif rule.provider_id is None and not await uow.operations.open_for_resource(
                    rule.id
                ):
                    # A starting rule the cloud did not have: make it like any other rule.
                    uow.operations.add(self._follow_up(op, rule))
            return
        row = await repo.rule_unscoped(op.resource_id)
        if row is None:
            return
        if op.action == "delete":
            await repo.remove_rule(row)
        else:
            row.provider_id = outcome.rule_provider_id

    def _follow_up(self, op: Operation, rule: SecurityGroupRule) -> Operation:
        return self._operations.due_now(
            project_id=op.project_id,
            resource_type=RULE,
            resource_id=rule.id,
            action="create",
            params={"security_group_id": rule.security_group_id},
            user_id=op.user_id,
            request_id=op.request_id,
        )

    async def _fail(self, uow: SecurityGroupUoW, op: Operation) -> None:
        """A rule the cloud refused is removed (the operation log keeps why); a group that
        could not be made stays without provider_id (BUILD) and can be deleted."""
        if op.resource_type == RULE and op.action == "create":
            rule = await uow.groups.rule_unscoped(op.resource_id)
            if rule is not None and rule.provider_id is None:
                await uow.groups.remove_rule(rule)

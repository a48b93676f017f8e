"""Security group storage; project-scoped reads start from the caller's project."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.ids import new_id
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.core.repository import like_pattern, paginate
from stackgate.network.models import PortSecurityGroup, SecurityGroup, SecurityGroupRule
from stackgate.semantics import neutron

GROUP_SORTS = {
    "created_at": SecurityGroup.created_at,
    "name": SecurityGroup.name,
}


class SecurityGroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _scoped(self, project_id: str) -> Select[Any]:
        return select(SecurityGroup).where(SecurityGroup.project_id == project_id)

    # groups

    async def get(self, project_id: str, group_id: str) -> SecurityGroup | None:
        group = await self.session.get(SecurityGroup, group_id)
        return group if group is not None and group.project_id == project_id else None

    async def get_unscoped(self, group_id: str) -> SecurityGroup | None:
        """Any project's group: for the cloud admin, the worker and the reconciler."""
        return await self.session.get(SecurityGroup, group_id, populate_existing=True)

    async def default_of(self, project_id: str) -> SecurityGroup | None:
        stmt = select(SecurityGroup).where(SecurityGroup.default_for == project_id)
        return (await self.session.scalars(stmt)).first()

    async def find(self, project_id: str, ref: str) -> Sequence[SecurityGroup]:
        """The project's groups whose id or name is `ref`."""
        stmt = self._scoped(project_id).where(
            or_(SecurityGroup.id == ref, SecurityGroup.name == ref)
        )
        return (await self.session.scalars(stmt)).all()

    async def names(self, project_id: str) -> Sequence[str]:
        """The names of the project's groups."""
        stmt = self._scoped(project_id).with_only_columns(SecurityGroup.name)
        return (await self.session.scalars(stmt)).all()

    async def list(
        self, project_id: str | None, *, name: str | None, page: PageRequest
    ) -> PageResult[SecurityGroup]:
        stmt = select(SecurityGroup) if project_id is None else self._scoped(project_id)
        if name:
            stmt = stmt.where(SecurityGroup.name.ilike(like_pattern(name), escape="\\"))
        return await paginate(
            self.session, stmt, columns=GROUP_SORTS, id_column=SecurityGroup.id, request=page
        )

    def add_group(
        self, *, project_id: str, name: str, description: str | None, default: bool, now: datetime
    ) -> tuple[SecurityGroup, builtins.list[SecurityGroupRule]]:
        """A new group with the rules Neutron starts it with (the default group: 4)."""
        group = SecurityGroup(
            id=new_id(),
            project_id=project_id,
            name=name,
            description=description,
            default_for=project_id if default else None,
            created_at=now,
            updated_at=now,
        )
        self.session.add(group)
        starting = neutron.default_group_rules(group.id) if default else neutron.egress_defaults()
        return group, [self.add_rule(group, rule, None, now=now) for rule in starting]

    def add_rule(
        self, group: SecurityGroup, rule: neutron.Rule, description: str | None, *, now: datetime
    ) -> SecurityGroupRule:
        """A rule row in normal form; its key is the duplicate check (unique per group)."""
        row = SecurityGroupRule(
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
            created_at=now,
        )
        self.session.add(row)
        return row

    async def remove_group(self, group: SecurityGroup) -> None:
        """Remove a group and its rules (the cloud has deleted them)."""
        await self.session.execute(
            delete(SecurityGroupRule)
            .where(SecurityGroupRule.security_group_id == group.id)
            .execution_options(synchronize_session=False)
        )
        await self.session.delete(group)

    # rules

    async def rules_of(
        self, group_ids: Sequence[str]
    ) -> dict[str, builtins.list[SecurityGroupRule]]:
        """Rules per group, oldest first."""
        found: dict[str, builtins.list[SecurityGroupRule]] = {gid: [] for gid in group_ids}
        if not group_ids:
            return found
        stmt = (
            select(SecurityGroupRule)
            .where(SecurityGroupRule.security_group_id.in_(list(group_ids)))
            .order_by(SecurityGroupRule.created_at, SecurityGroupRule.id)
        )
        for rule in (await self.session.scalars(stmt)).all():
            found[rule.security_group_id].append(rule)
        return found

    async def rule(self, group_id: str, rule_id: str) -> SecurityGroupRule | None:
        rule = await self.session.get(SecurityGroupRule, rule_id)
        return rule if rule is not None and rule.security_group_id == group_id else None

    async def rule_unscoped(self, rule_id: str) -> SecurityGroupRule | None:
        return await self.session.get(SecurityGroupRule, rule_id, populate_existing=True)

    async def rule_by_key(self, group_id: str, key: str) -> SecurityGroupRule | None:
        stmt = select(SecurityGroupRule).where(
            SecurityGroupRule.security_group_id == group_id, SecurityGroupRule.rule_key == key
        )
        return (await self.session.scalars(stmt)).first()

    async def remove_rule(self, rule: SecurityGroupRule) -> None:
        await self.session.delete(rule)

    async def referencing_rules(self, group_id: str) -> Sequence[SecurityGroupRule]:
        """Rules of OTHER groups whose remote group is `group_id`."""
        stmt = select(SecurityGroupRule).where(
            SecurityGroupRule.remote_group_id == group_id,
            SecurityGroupRule.security_group_id != group_id,
        )
        return (await self.session.scalars(stmt)).all()

    # ports

    async def ports_using(self, group_id: str) -> int:
        stmt = (
            select(func.count())
            .select_from(PortSecurityGroup)
            .where(PortSecurityGroup.security_group_id == group_id)
        )
        return int(await self.session.scalar(stmt) or 0)

    # quota usage

    async def usage(self, project_id: str) -> dict[str, int]:
        """The default group and its four template rules come with the project (like its
        private network) and count against nothing, so a project torn down reads zero;
        rules a user adds to the default group do count."""
        groups = await self.session.scalar(
            select(func.count())
            .select_from(SecurityGroup)
            .where(SecurityGroup.project_id == project_id, SecurityGroup.default_for.is_(None))
        )
        rule = SecurityGroupRule
        template = and_(
            SecurityGroup.default_for.is_not(None),
            rule.protocol.is_(None),
            rule.port_range_min.is_(None),
            rule.remote_ip_prefix.is_(None),
            or_(
                and_(rule.direction == "egress", rule.remote_group_id.is_(None)),
                and_(rule.direction == "ingress", rule.remote_group_id == rule.security_group_id),
            ),
        )
        rules = await self.session.scalar(
            select(func.count())
            .select_from(rule)
            .join(SecurityGroup, SecurityGroup.id == rule.security_group_id)
            .where(rule.project_id == project_id, not_(template))
        )
        return {"security_groups": int(groups or 0), "security_group_rules": int(rules or 0)}

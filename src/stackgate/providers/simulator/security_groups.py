"""Security groups and rules as Neutron keeps them (neutron/db/securitygroups_db.py).

A project's `default` group is made on first need with 4 rules (egress any IPv4/IPv6, ingress
from the group itself for IPv4/IPv6); any other group starts with the 2 egress rules. Rules
are never changed in place, and an identical rule is a 409.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.ids import new_id
from stackgate.providers.network import (
    ProviderRule,
    ProviderSecurityGroup,
    RuleSpec,
    SecurityGroupSpec,
)
from stackgate.providers.simulator.env import SimEnv
from stackgate.providers.simulator.netcommon import (
    bad_request,
    conflict,
    group_dto,
    group_not_found,
    has_tags,
    rule_dto,
)
from stackgate.providers.simulator.tables import SimPort, SimRule, SimSecurityGroup
from stackgate.semantics import neutron

DEFAULT = neutron.DEFAULT_GROUP_NAME
_ETHERTYPES = neutron.ETHERTYPES
_PORTED = ("tcp", "udp", "sctp", "dccp", "udplite", "6", "17", "132", "33", "136")
_ICMP = ("icmp", "ipv6-icmp", "icmpv6", "1", "58")


def _normalise(spec: RuleSpec) -> RuleSpec:
    """Neutron's checks (reference/openstack.md 4.2), 400 when one fails."""
    if spec.direction not in ("ingress", "egress"):
        raise bad_request(
            f"Invalid input for direction. Reason: {spec.direction} is not in "
            "['ingress', 'egress']."
        )
    if spec.ethertype not in _ETHERTYPES:
        raise bad_request(
            f"Invalid input for ethertype. Reason: {spec.ethertype} is not in ['IPv4', 'IPv6']."
        )
    protocol = spec.protocol.lower() if spec.protocol else None
    low, high = spec.port_range_min, spec.port_range_max
    if protocol in ("icmpv6", "ipv6-icmp", "58") and spec.ethertype == "IPv4":
        raise bad_request(f"Protocol {protocol} is only supported for IPv6.")
    if protocol is None and (low is not None or high is not None):
        raise bad_request("Must also specify protocol if port range is given.")
    if protocol in _PORTED and (low is not None or high is not None):
        if low is None or high is None or not 1 <= low <= high <= 65535:
            raise bad_request("For TCP/UDP protocols, port_range_min must be <= port_range_max")
        if (low, high) == (1, 65535):
            low = high = None  # every port: stored as no range at all
    elif protocol in _ICMP:
        for value in (low, high):
            if value is not None and not 0 <= value <= 255:
                raise bad_request(f"Invalid value for ICMP field (type or code): {value}")
        if high is not None and low is None:
            raise bad_request(
                f"ICMP code (port-range-max) {high} is provided but ICMP type "
                "(port-range-min) is missing."
            )
    elif protocol is not None and (low is not None or high is not None):
        raise bad_request(f"Protocol {protocol} does not support port ranges.")
    prefix = spec.remote_ip_prefix
    if prefix is not None:
        if spec.remote_group_id is not None:
            raise bad_request("Only remote_ip_prefix or remote_group_id may be provided.")
        try:
            net = ipaddress.ip_network(prefix, strict=False)
        except ValueError as exc:
            raise bad_request(
                f"Invalid input for remote_ip_prefix. Reason: '{prefix}' is not a valid IP prefix."
            ) from exc
        if f"IPv{net.version}" != spec.ethertype:
            raise bad_request(f"Conflicting value ethertype {spec.ethertype} for CIDR {prefix}")
        prefix = str(net)
    return RuleSpec(
        security_group_id=spec.security_group_id,
        direction=spec.direction,
        ethertype=spec.ethertype,
        protocol=protocol,
        port_range_min=low,
        port_range_max=high,
        remote_ip_prefix=prefix,
        remote_group_id=spec.remote_group_id,
        description=spec.description,
    )


def _key(spec: RuleSpec) -> str:
    """The control plane's rule key, so the two judge duplicates alike."""
    return neutron.rule_key(
        neutron.Rule(
            direction=spec.direction,
            ethertype=spec.ethertype,
            protocol=spec.protocol,
            port_range_min=spec.port_range_min,
            port_range_max=spec.port_range_max,
            remote_ip_prefix=spec.remote_ip_prefix,
            remote_group_id=spec.remote_group_id,
        )
    )


async def rules_of(session: AsyncSession, group_ids: Sequence[str]) -> dict[str, list[SimRule]]:
    found: dict[str, list[SimRule]] = {g: [] for g in group_ids}
    if not group_ids:
        return found
    stmt = (
        select(SimRule)
        .where(SimRule.security_group_id.in_(list(group_ids)))
        .order_by(SimRule.created_at, SimRule.id)
    )
    for rule in (await session.scalars(stmt)).all():
        found[rule.security_group_id].append(rule)
    return found


async def add_rule(session: AsyncSession, spec: RuleSpec, now: datetime) -> SimRule:
    """Insert a normalised rule; an identical one is SecurityGroupRuleExists (409)."""
    key = _key(spec)
    stmt = select(SimRule).where(
        SimRule.security_group_id == spec.security_group_id, SimRule.rule_key == key
    )
    existing = await session.scalar(stmt)
    exists = "Security group rule already exists. Rule id is {}."
    if existing is not None:
        raise conflict(exists.format(existing.id))
    rule = SimRule(
        id=new_id(),
        security_group_id=spec.security_group_id,
        direction=spec.direction,
        ethertype=spec.ethertype,
        protocol=spec.protocol,
        port_range_min=spec.port_range_min,
        port_range_max=spec.port_range_max,
        remote_ip_prefix=spec.remote_ip_prefix,
        remote_group_id=spec.remote_group_id,
        description=spec.description,
        rule_key=key,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(rule)
            await session.flush()
    except IntegrityError as exc:
        other = await session.scalar(stmt)
        raise conflict(exists.format(other.id if other else "unknown")) from exc
    return rule


def _templates(group_id: str, *, default: bool) -> list[RuleSpec]:
    rules = neutron.default_group_rules(group_id) if default else neutron.egress_defaults()
    return [
        RuleSpec(group_id, r.direction, r.ethertype, remote_group_id=r.remote_group_id)
        for r in rules
    ]


async def _make_group(
    session: AsyncSession, spec: SecurityGroupSpec, now: datetime, *, default: bool
) -> SimSecurityGroup:
    group = SimSecurityGroup(
        id=new_id(),
        name=spec.name,
        project_id=spec.project_id,
        description=spec.description,
        default_for=spec.project_id if default else None,
        tags=list(spec.tags),
        created_at=now,
    )
    session.add(group)
    await session.flush()
    for template in _templates(group.id, default=default):
        await add_rule(session, template, now)
    return group


async def default_group(session: AsyncSession, project_id: str, now: datetime) -> SimSecurityGroup:
    """The project's default group, made on first need (one per project under races)."""
    stmt = select(SimSecurityGroup).where(SimSecurityGroup.default_for == project_id)
    group = await session.scalar(stmt)
    if group is not None:
        return group
    spec = SecurityGroupSpec(
        name=DEFAULT, project_id=project_id, description=neutron.DEFAULT_GROUP_DESCRIPTION
    )
    try:
        async with session.begin_nested():
            return await _make_group(session, spec, now, default=True)
    except IntegrityError:
        group = await session.scalar(stmt)  # another transaction made it first
        if group is None:
            raise
        return group


async def existing_groups(
    session: AsyncSession, group_ids: Sequence[str], *, lock: bool = False
) -> list[SimSecurityGroup]:
    """The groups named, locked in id order when asked; an unknown one is a 404."""
    wanted = sorted(set(group_ids))
    if not wanted:
        return []
    stmt = (
        select(SimSecurityGroup)
        .where(SimSecurityGroup.id.in_(wanted))
        .order_by(SimSecurityGroup.id)
    )
    if lock:
        stmt = stmt.with_for_update()
    groups = list((await session.scalars(stmt)).all())
    known = {g.id for g in groups}
    for group_id in wanted:
        if group_id not in known:
            raise group_not_found(group_id)
    return groups


async def _dto(session: AsyncSession, group: SimSecurityGroup) -> ProviderSecurityGroup:
    return group_dto(group, (await rules_of(session, [group.id]))[group.id])


async def create_group(env: SimEnv, spec: SecurityGroupSpec) -> ProviderSecurityGroup:
    if spec.name.strip().lower() == DEFAULT:
        raise bad_request("Invalid input for name. Reason: 'default' is reserved.")

    async def work(session: AsyncSession) -> ProviderSecurityGroup:
        group = await _make_group(session, spec, env.clock.now(), default=False)
        return await _dto(session, group)

    return await env.store.run(work, write=True)


async def find_group(env: SimEnv, name: str, project_id: str) -> ProviderSecurityGroup | None:
    async def work(session: AsyncSession) -> ProviderSecurityGroup | None:
        if name == DEFAULT:
            return await _dto(session, await default_group(session, project_id, env.clock.now()))
        stmt = (
            select(SimSecurityGroup)
            .where(SimSecurityGroup.project_id == project_id, SimSecurityGroup.name == name)
            .order_by(SimSecurityGroup.created_at, SimSecurityGroup.id)
        )
        group = await session.scalar(stmt)
        if group is None:
            group = await session.get(SimSecurityGroup, name)  # find_* accepts an id too
        return None if group is None else await _dto(session, group)

    return await env.store.run(work, write=name == DEFAULT)


async def list_groups(env: SimEnv, tags: tuple[str, ...]) -> list[ProviderSecurityGroup]:
    async def work(session: AsyncSession) -> list[ProviderSecurityGroup]:
        stmt = select(SimSecurityGroup).order_by(SimSecurityGroup.created_at, SimSecurityGroup.id)
        groups = [g for g in (await session.scalars(stmt)).all() if has_tags(g.tags, tags)]
        rules = await rules_of(session, [g.id for g in groups])
        return [group_dto(g, rules[g.id]) for g in groups]

    return await env.store.run(work)


async def delete_group(env: SimEnv, group_id: str) -> None:
    async def work(session: AsyncSession) -> None:
        group = await session.get(SimSecurityGroup, group_id, with_for_update=True)
        if group is None:
            return
        ports = (await session.scalars(select(SimPort.security_group_ids))).all()
        if any(group_id in ids for ids in ports):
            raise conflict(f"Security Group {group_id} in use.")
        # Rules of this group, and rules elsewhere that name it as their remote, go with it.
        await session.execute(
            delete(SimRule).where(
                (SimRule.security_group_id == group_id) | (SimRule.remote_group_id == group_id)
            )
        )
        await session.delete(group)

    await env.store.run(work, write=True)


async def create_rule(env: SimEnv, spec: RuleSpec) -> ProviderRule:
    rule_spec = _normalise(spec)

    async def work(session: AsyncSession) -> ProviderRule:
        await existing_groups(session, [rule_spec.security_group_id], lock=True)
        if rule_spec.remote_group_id is not None:
            await existing_groups(session, [rule_spec.remote_group_id])
        return rule_dto(await add_rule(session, rule_spec, env.clock.now()))

    return await env.store.run(work, write=True)


async def delete_rule(env: SimEnv, rule_id: str) -> None:
    async def work(session: AsyncSession) -> None:
        await session.execute(delete(SimRule).where(SimRule.id == rule_id))

    await env.store.run(work, write=True)

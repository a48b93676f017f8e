"""Who may do what: the one policy table, enforced by the services (never by routes).

Roles are hierarchical as in Keystone (reader < member < manager); `admin` is cloud-wide, as in
OpenStack (nova and neutron define context_is_admin as role:admin), and is only ever granted on
the `admin` project.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from stackgate.core.context import RequestContext
from stackgate.core.errors import Forbidden


class Role(IntEnum):
    READER = 1
    MEMBER = 2
    MANAGER = 3
    ADMIN = 4

    @classmethod
    def parse(cls, name: str) -> Role:
        return cls[name.upper()]

    @property
    def label(self) -> str:
        return self.name.lower()


TENANT_ROLES = ("reader", "member", "manager")


@dataclass(frozen=True, slots=True)
class Rule:
    minimum: Role
    description: str


R, M, MG, A = Role.READER, Role.MEMBER, Role.MANAGER, Role.ADMIN
RULES: dict[str, Rule] = {
    "server:list": Rule(R, "list the project's servers"),
    "server:get": Rule(R, "show a server, its action log and snapshots"),
    "server:create": Rule(M, "create a server"),
    "server:update": Rule(M, "rename or re-tag a server"),
    "server:delete": Rule(M, "delete a server"),
    "server:action": Rule(M, "start, stop, resize ... a server"),
    "server:snapshot": Rule(M, "snapshot a server"),
    "server:volume": Rule(M, "attach or detach a volume"),
    "server:security_group": Rule(M, "add or remove a server's security groups"),
    "volume:read": Rule(R, "list and show volumes, volume types and volume snapshots"),
    "volume:create": Rule(M, "create a volume or a volume snapshot"),
    "volume:update": Rule(M, "rename or describe a volume or a volume snapshot"),
    "volume:delete": Rule(M, "delete a volume or a volume snapshot"),
    "volume:action": Rule(M, "extend a volume"),
    "network:read": Rule(R, "list and show networks, subnets and ports"),
    "network:write": Rule(M, "create, update or delete networks, subnets and ports"),
    "network:external": Rule(A, "make networks shared or external (Neutron: admin only)"),
    "security_group:read": Rule(R, "list and show security groups and their rules"),
    "security_group:write": Rule(M, "create, update or delete security groups and rules"),
    "floating_ip:read": Rule(R, "list and show floating IPs"),
    "floating_ip:write": Rule(M, "allocate, associate, disassociate or release floating IPs"),
    "flavor:read": Rule(R, "list and show flavors"),
    "flavor:write": Rule(A, "create, replace or delete flavors (Nova: admin only)"),
    "image:read": Rule(R, "list and show images"),
    "image:create": Rule(M, "register, replace or delete the project's private images"),
    "image:write": Rule(A, "register, replace or delete public images"),
    "project:read": Rule(R, "list and show one's projects"),
    "project:write": Rule(A, "create, update, disable or delete projects"),
    "member:read": Rule(R, "list a project's members"),
    "member:write": Rule(MG, "grant, change or revoke roles (at most manager)"),
    "user:read": Rule(A, "list and show users"),
    "user:write": Rule(A, "create, update, disable or delete users"),
    "user:self": Rule(R, "see oneself, change one's own password"),
    "credential:self": Rule(R, "manage one's own application credentials"),
    "quota:read": Rule(R, "show the project's quotas and usage"),
    "quota:write": Rule(A, "change quotas"),
    "audit:read": Rule(MG, "read the audit trail (managers: their project)"),
    "operation:read": Rule(R, "list, show and follow the project's operations"),
    "event:read": Rule(R, "watch the project's live events (admins: any project)"),
}


def role_of(ctx: RequestContext) -> Role:
    """The caller's highest role in the token's project."""
    ranks = [Role.parse(r) for r in ctx.roles if r.upper() in Role.__members__]
    return max(ranks, default=Role.READER)


def allows(ctx: RequestContext, rule: str) -> bool:
    return role_of(ctx) >= RULES[rule].minimum


def enforce(ctx: RequestContext, rule: str) -> None:
    """Raise Forbidden (403) unless the caller's role meets the rule."""
    if not allows(ctx, rule):
        needed = RULES[rule].minimum.label
        raise Forbidden(
            f"{RULES[rule].description} needs the {needed} role; you have {role_of(ctx).label}",
            rule=rule,
            required_role=needed,
        )


def grantable(ctx: RequestContext, role: str) -> bool:
    """A manager grants at most manager; only an admin grants admin (and only on admin)."""
    return Role.parse(role) <= (Role.ADMIN if ctx.is_admin else Role.MANAGER)

"""Security group errors (pure: no framework imports)."""

from __future__ import annotations

from collections.abc import Iterable

from stackgate.core.errors import (
    Category,
    Conflict,
    InUse,
    InvalidInput,
    NotFound,
    UnknownReference,
)


class SecurityGroupNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("security_group", ref)


class SecurityGroupRuleNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("security_group_rule", ref)


class InvalidRule(InvalidInput):
    """A rule that Neutron would refuse (reference/openstack.md 4.2); names the field."""

    code = "invalid_security_group_rule"
    title = "Invalid security group rule"
    category = Category.UNPROCESSABLE

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}", field=field)
        self.field = field


class ReservedGroupName(InvalidInput):
    """Neutron answers 400 to a new group named `default`; ours is a 422 like other input."""

    code = "reserved_security_group_name"
    title = "Reserved security group name"
    category = Category.UNPROCESSABLE

    def __init__(self) -> None:
        super().__init__(
            "name: 'default' is reserved for the project's default group", field="name"
        )


class UnknownSecurityGroup(UnknownReference):
    """A body field names a group that is not the caller's (400, as Nova/Neutron answer)."""

    def __init__(self, field: str, ref: str, names: Iterable[str] = ()) -> None:
        super().__init__(
            field,
            ref,
            kind="security group",
            candidates=names,
            listed_at="/api/v1/security-groups",
        )


class RuleExists(Conflict):
    """Neutron's SecurityGroupRuleExists (409)."""

    code = "rule_exists"
    title = "Security group rule already exists"

    def __init__(self, rule_id: str | None) -> None:
        which = f" Rule id is {rule_id}." if rule_id else ""
        super().__init__(f"Security group rule already exists.{which}", rule_id=rule_id)


class SecurityGroupInUse(InUse):
    code = "security_group_in_use"
    title = "Security group in use"

    def __init__(self, group_id: str, detail: str) -> None:
        super().__init__(f"security group {group_id} is in use: {detail}", id=group_id)


class DefaultGroupProtected(Conflict):
    """Renaming the default group, or deleting it as a non-admin (Neutron: 409)."""

    code = "default_security_group"
    title = "Default security group is protected"

    def __init__(self, action: str) -> None:
        super().__init__(f"the default security group cannot be {action}", action=action)


class GroupBeingDeleted(Conflict):
    code = "invalid_state"
    title = "Security group is being deleted"

    def __init__(self, group_id: str) -> None:
        super().__init__(f"security group {group_id} is being deleted", id=group_id)

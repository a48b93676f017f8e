"""Body of add-security-group / remove-security-group."""

from __future__ import annotations

from stackgate.core.schemas import Input, Ref


class SecurityGroupAction(Input):
    """Body of add-security-group / remove-security-group."""

    name: Ref

"""What other features may use of identity, and the only module of it they import: the policy
(`policy.enforce`), the quotas (`quotas.enforce`, `quotas.combined`) and the project row lock
that serialises a project's quota-counted creates."""

from __future__ import annotations

from stackgate.identity import policy, quotas
from stackgate.identity.repository import IdentityRepository

__all__ = ["IdentityRepository", "policy", "quotas"]

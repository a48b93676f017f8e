"""What other features may use of identity, and the only module of it they import: the policy
(`policy.enforce`), the quotas (`quotas.enforce`, `quotas.combined`) and the project lock that
serialises a project's quota-counted creates."""

from __future__ import annotations

from stackgate.core.uow import UnitOfWork
from stackgate.identity import policy, quotas
from stackgate.identity.repository import IdentityRepository

__all__ = ["lock_project", "policy", "quotas"]


async def lock_project(uow: UnitOfWork, project_id: str) -> None:
    """Serialise with the project's other quota-counted creates (and first uses) until the
    unit of work ends: a row lock on PostgreSQL and MariaDB, the write lock on SQLite."""
    await IdentityRepository(uow.session).lock_project(project_id)

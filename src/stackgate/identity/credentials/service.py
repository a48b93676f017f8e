"""Application credential use cases: one's own project-scoped API keys."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.clock import Clock
from stackgate.core.context import RequestContext
from stackgate.core.errors import Forbidden
from stackgate.identity import policy
from stackgate.identity.credentials.schemas import CredentialCreate
from stackgate.identity.errors import CredentialNotFound, NameTaken
from stackgate.identity.models import ApplicationCredential
from stackgate.identity.repository import IdentityUoW
from stackgate.identity.security import PasswordHasher


class CredentialService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        hasher: PasswordHasher,
        clock: Clock,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._hasher = hasher
        self._clock = clock
        self._on_change = on_change

    def _uow(self) -> IdentityUoW:
        return IdentityUoW(self._sessionmaker)

    async def create_credential(
        self, ctx: RequestContext, data: CredentialCreate
    ) -> tuple[ApplicationCredential, str]:
        """A project-scoped API key for automation; the secret is returned once."""
        policy.enforce(ctx, "credential:self")
        if ctx.credential_id is not None:
            # As in Keystone: a credential cannot mint credentials that outlive its revocation.
            raise Forbidden("a token from an application credential cannot create another one")
        assert ctx.user_id is not None
        secret = secrets.token_urlsafe(32)
        async with self._uow() as uow:
            if await uow.identity.credential_name_taken(ctx.user_id, data.name):
                raise NameTaken("application credential", data.name)
            credential = ApplicationCredential(
                user_id=ctx.user_id,
                project_id=ctx.project_id,
                name=data.name,
                description=data.description,
                secret_hash=self._hasher.hash(secret),
                expires_at=data.expires_at,
                created_at=self._clock.now(),
            )
            uow.identity.add(credential)
            await uow.commit()
        return credential, secret

    async def list_credentials(self, ctx: RequestContext) -> list[ApplicationCredential]:
        """One's own application credentials (secrets never shown again)."""
        policy.enforce(ctx, "credential:self")
        assert ctx.user_id is not None
        async with self._uow() as uow:
            return list(await uow.identity.credentials_of(ctx.user_id))

    async def get_credential(
        self, ctx: RequestContext, credential_id: str
    ) -> ApplicationCredential:
        """One of one's own application credentials."""
        policy.enforce(ctx, "credential:self")
        async with self._uow() as uow:
            credential = await uow.identity.credential(credential_id)
            if credential is None or credential.user_id != ctx.user_id:
                raise CredentialNotFound(credential_id)
            return credential

    async def revoke_credential(self, ctx: RequestContext, credential_id: str) -> None:
        """Delete one of one's application credentials; tokens made from it stop working."""
        policy.enforce(ctx, "credential:self")
        async with self._uow() as uow:
            credential = await uow.identity.credential(credential_id)
            if credential is None or credential.user_id != ctx.user_id:
                raise CredentialNotFound(credential_id)
            await uow.identity.remove(credential)
            await uow.commit()
        self._on_change()

"""User use cases: the directory of users, and one's own password."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.clock import Clock
from stackgate.core.context import RequestContext
from stackgate.core.pagination import PageRequest, PageResult
from stackgate.identity import policy
from stackgate.identity.errors import InvalidCredentials, LastAdmin, NameTaken, UserNotFound
from stackgate.identity.models import ADMIN_PROJECT, DEFAULT_DOMAIN_ID, User
from stackgate.identity.repository import IdentityUoW
from stackgate.identity.security import PasswordHasher
from stackgate.identity.users.schemas import PasswordChange, UserCreate, UserUpdate


class UserService:
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

    async def list_users(self, ctx: RequestContext, *, page: PageRequest) -> PageResult[User]:
        """Every user (admin)."""
        policy.enforce(ctx, "user:read")
        async with self._uow() as uow:
            return await uow.identity.users(page=page)

    async def get_user(self, ctx: RequestContext, user_id: str) -> User:
        """A user: oneself, or anyone for the admin."""
        policy.enforce(ctx, "user:self" if user_id == ctx.user_id else "user:read")
        async with self._uow() as uow:
            user = await uow.identity.user(user_id)
            if user is None:
                raise UserNotFound(user_id)
            return user

    async def create_user(self, ctx: RequestContext, data: UserCreate) -> User:
        """A new user in the Default domain (admin)."""
        policy.enforce(ctx, "user:write")
        async with self._uow() as uow:
            if await uow.identity.user_by_name(DEFAULT_DOMAIN_ID, data.name) is not None:
                raise NameTaken("user", data.name)
            now = self._clock.now()
            user = User(
                domain_id=DEFAULT_DOMAIN_ID,
                name=data.name,
                email=data.email,
                enabled=data.enabled,
                password_hash=self._hasher.hash(data.password),
                tokens_valid_after=now,
                created_at=now,
                updated_at=now,
            )
            uow.identity.add(user)
            await uow.commit()
            return user

    async def update_user(self, ctx: RequestContext, user_id: str, data: UserUpdate) -> User:
        """Rename, re-mail, enable/disable or reset the password of a user (admin); disabling
        or a new password voids the user's tokens."""
        policy.enforce(ctx, "user:write")
        async with self._uow() as uow:
            user = await uow.identity.user(user_id)
            if user is None:
                raise UserNotFound(user_id)
            now = self._clock.now()
            if data.name is not None and data.name != user.name:
                if await uow.identity.user_by_name(user.domain_id, data.name) is not None:
                    raise NameTaken("user", data.name)
                user.name = data.name
            if "email" in data.model_fields_set:
                user.email = data.email
            if data.enabled is not None and data.enabled != user.enabled:
                if not data.enabled:
                    await self._not_last_admin(uow, user.id)
                    user.tokens_valid_after = now
                user.enabled = data.enabled
            if data.password is not None:
                user.password_hash = self._hasher.hash(data.password)
                user.tokens_valid_after = now
            user.updated_at = now
            await uow.commit()
        self._on_change()
        return user

    async def change_own_password(
        self, ctx: RequestContext, user_id: str, data: PasswordChange
    ) -> None:
        """A user changes their own password (knowing the old one); old tokens stop working."""
        policy.enforce(ctx, "user:self")
        if user_id != ctx.user_id:
            raise UserNotFound(user_id)
        async with self._uow() as uow:
            user = await uow.identity.user(user_id)
            if user is None:
                raise UserNotFound(user_id)
            if not self._hasher.verify(data.original_password, user.password_hash):
                raise InvalidCredentials()
            user.password_hash = self._hasher.hash(data.password)
            user.tokens_valid_after = self._clock.now()
            await uow.commit()
        self._on_change()

    async def reset_password(self, name: str, password: str) -> User:
        """Give a user of the Default domain a new password, by name, and void their tokens:
        the operator's way back in (`stackgate admin reset-password`, run where the database
        is reachable), so it takes no request context. Running API processes refuse the old
        tokens once their token-check cache (STACKGATE_AUTH_CACHE_SECONDS) has expired."""
        async with self._uow() as uow:
            user = await uow.identity.user_by_name(DEFAULT_DOMAIN_ID, name)
            if user is None:
                raise UserNotFound(name)
            now = self._clock.now()
            user.password_hash = self._hasher.hash(password)
            user.tokens_valid_after = now
            user.updated_at = now
            await uow.commit()
        self._on_change()
        return user

    async def delete_user(self, ctx: RequestContext, user_id: str) -> None:
        """Delete a user and their role assignments (admin)."""
        policy.enforce(ctx, "user:write")
        async with self._uow() as uow:
            user = await uow.identity.user(user_id)
            if user is None:
                raise UserNotFound(user_id)
            await self._not_last_admin(uow, user.id)
            await uow.identity.remove(user)
            await uow.commit()
        self._on_change()

    async def _not_last_admin(self, uow: IdentityUoW, user_id: str) -> None:
        admin = await uow.identity.project_by_ref(DEFAULT_DOMAIN_ID, ADMIN_PROJECT)
        if admin is None:
            return
        assignment = await uow.identity.assignment(user_id, admin.id)
        if (
            assignment is not None
            and assignment.role == "admin"
            and not await uow.identity.has_other_admin(admin.id, excluding=user_id)
        ):
            raise LastAdmin()

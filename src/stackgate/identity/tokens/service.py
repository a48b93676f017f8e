"""Authentication use cases: issue tokens (password or application credential) and turn a
bearer token into a RequestContext."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stackgate.core.clock import Clock
from stackgate.core.context import RequestContext
from stackgate.core.errors import Unauthorized
from stackgate.identity.errors import InvalidCredentials, TooManyAttempts
from stackgate.identity.models import Project, User
from stackgate.identity.repository import IdentityUoW
from stackgate.identity.security import InvalidToken, PasswordHasher, TokenClaims, TokenCodec
from stackgate.identity.tokens.schemas import TokenRequest

_DECODED_MAX = 10_000


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    claims: TokenClaims


@dataclass(frozen=True, slots=True)
class LoginLimits:
    per_user_per_minute: int = 10
    per_address_per_minute: int = 30


class AuthService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        hasher: PasswordHasher,
        codec: TokenCodec,
        clock: Clock,
        limits: LoginLimits = LoginLimits(),
        storage: Storage | None = None,
        cache_seconds: float = 2.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._hasher = hasher
        self._codec = codec
        self._clock = clock
        self._limiter = MovingWindowRateLimiter(storage or MemoryStorage())
        self._per_user = RateLimitItemPerMinute(limits.per_user_per_minute)
        self._per_address = RateLimitItemPerMinute(limits.per_address_per_minute)
        self._cache_seconds = cache_seconds
        self._cache: dict[tuple[str, str, str | None], tuple[float, RequestContext | None]] = {}
        # Verified signatures by token: a client repeating its token skips the HMAC check.
        self._decoded: dict[str, TokenClaims] = {}

    def _uow(self) -> IdentityUoW:
        return IdentityUoW(self._sessionmaker)

    def forget(self) -> None:
        """Drop cached token checks (called after any identity change in this process)."""
        self._cache.clear()

    async def _throttle(self, username: str, address: str) -> None:
        for item, key in (
            (self._per_user, f"user:{username}"),
            (self._per_address, f"addr:{address}"),
        ):
            if not await self._limiter.test(item, "login", key):
                stats = await self._limiter.get_window_stats(item, "login", key)
                raise TooManyAttempts(max(1, int(stats.reset_time - time.time())))

    async def _failed(self, username: str, address: str) -> InvalidCredentials:
        await self._limiter.hit(self._per_user, "login", f"user:{username}")
        await self._limiter.hit(self._per_address, "login", f"addr:{address}")
        return InvalidCredentials()

    async def issue(self, request: TokenRequest, *, address: str) -> IssuedToken:
        """A project-scoped token for a password or an application credential."""
        if request.application_credential_id is not None:
            return await self._issue_for_credential(request, address=address)
        assert request.username is not None and request.password is not None
        await self._throttle(request.username, address)
        async with self._uow() as uow:
            domain = await uow.identity.domain_by_name(request.domain)
            user = (
                None
                if domain is None
                else await uow.identity.user_by_name(domain.id, request.username)
            )
            if not self._hasher.verify(request.password, user.password_hash if user else None):
                raise await self._failed(request.username, address)
            assert user is not None and domain is not None
            project = await self._scope(uow, user, domain.id, request.project)
            assignment = (
                None if project is None else await uow.identity.assignment(user.id, project.id)
            )
            if project is None or assignment is None or not user.enabled or not project.enabled:
                raise await self._failed(request.username, address)
            return self._issue(user, project, assignment.role, method="password")

    async def _scope(
        self, uow: IdentityUoW, user: User, domain_id: str, ref: str | None
    ) -> Project | None:
        """The named project, or the user's only one when none is named."""
        if ref is not None:
            return await uow.identity.project_by_ref(domain_id, ref)
        projects = await uow.identity.projects_of(user.id)
        return projects[0] if len(projects) == 1 else None

    async def _issue_for_credential(self, request: TokenRequest, *, address: str) -> IssuedToken:
        credential_id = str(request.application_credential_id)
        await self._throttle(f"cred:{credential_id}", address)
        async with self._uow() as uow:
            credential = await uow.identity.credential(credential_id)
            secret = str(request.application_credential_secret)
            if not self._hasher.verify(secret, credential.secret_hash if credential else None):
                raise await self._failed(f"cred:{credential_id}", address)
            assert credential is not None
            now = self._clock.now()
            user = await uow.identity.user(credential.user_id)
            project = await uow.identity.project(credential.project_id)
            assignment = await uow.identity.assignment(credential.user_id, credential.project_id)
            expired = credential.expires_at is not None and credential.expires_at <= now
            if (
                expired
                or user is None
                or project is None
                or assignment is None
                or not user.enabled
                or not project.enabled
            ):
                raise await self._failed(f"cred:{credential_id}", address)
            return self._issue(
                user,
                project,
                assignment.role,
                method="application_credential",
                credential_id=credential.id,
                not_after=credential.expires_at,
            )

    def _issue(
        self,
        user: User,
        project: Project,
        role: str,
        *,
        method: str,
        credential_id: str | None = None,
        not_after: datetime | None = None,
    ) -> IssuedToken:
        token, claims = self._codec.issue(
            user_id=user.id,
            user_name=user.name,
            project_id=project.id,
            project_name=project.name,
            roles=(role,),
            method=method,
            credential_id=credential_id,
            not_after=not_after,
        )
        return IssuedToken(token, claims)

    async def authenticate(self, token: str, *, request_id: str | None) -> RequestContext:
        """The caller behind a bearer token, checked against the live user, project and role
        (a disabled user, a changed password or a removed role voids the token)."""
        claims = self._decoded.get(token)
        try:
            if claims is None:
                claims = self._codec.decode(token)
                if len(self._decoded) >= _DECODED_MAX:
                    self._decoded.clear()
                self._decoded[token] = claims
            elif claims.expires_at <= self._clock.now():
                raise InvalidToken("expired")
        except InvalidToken as exc:
            raise Unauthorized(
                "the bearer token is invalid or expired", reason="invalid_token"
            ) from exc
        key = (claims.user_id, claims.project_id, claims.credential_id)
        cached = self._cache.get(key)
        now_mono = time.monotonic()
        base: RequestContext | None
        if cached is not None and cached[0] > now_mono and cached[1] is not None:
            base = cached[1]
        else:
            base = await self._check(claims)
            self._cache[key] = (now_mono + self._cache_seconds, base)
        # The cached check is per user+project; token age is per token.
        if base is None or claims.issued_at < base.valid_after:
            raise Unauthorized(
                "the bearer token is no longer valid; log in again", reason="revoked_token"
            )
        return RequestContext(
            project_id=claims.project_id,
            user_id=claims.user_id,
            roles=base.roles,
            request_id=request_id,
            user_name=claims.user_name,
            project_name=claims.project_name,
            expires_at=claims.expires_at,
            credential_id=claims.credential_id,
            valid_after=base.valid_after,
        )

    async def _check(self, claims: TokenClaims) -> RequestContext | None:
        async with self._uow() as uow:
            grant = await uow.identity.grant(
                claims.user_id, claims.project_id, claims.credential_id
            )
        if grant is None or not grant.user_enabled or not grant.project_enabled:
            return None
        if grant.credential_expires_at is not None and (
            grant.credential_expires_at <= self._clock.now()
        ):
            return None
        # A token predating the password change, the disabling, or the role assignment (a role
        # removed and granted again does not revive the tokens the removal voided) is void;
        # tokens carry milliseconds, so compare at that precision.
        since = max(grant.tokens_valid_after, grant.assigned_at)
        valid_after = since.replace(microsecond=since.microsecond // 1000 * 1000)
        return RequestContext(
            project_id=claims.project_id,
            user_id=claims.user_id,
            roles=frozenset({grant.role}),
            valid_after=valid_after,
        )

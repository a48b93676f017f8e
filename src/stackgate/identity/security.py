"""Password hashing (argon2 through pwdlib) and signed bearer tokens (JWT through PyJWT)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from stackgate.core.clock import Clock

ALGORITHM = "HS256"
ISSUER = "stackgate"


class PasswordHasher:
    """argon2id; `fast` lowers the cost for test runs (never in production settings)."""

    def __init__(self, *, fast: bool = False) -> None:
        hasher = (
            Argon2Hasher(time_cost=1, memory_cost=8192, parallelism=1) if fast else Argon2Hasher()
        )
        self._hash = PasswordHash((hasher,))
        # Verifying against a dummy hash when a user is unknown keeps timing uniform.
        self._dummy = self._hash.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hash.hash(password)

    def verify(self, password: str, hashed: str | None) -> bool:
        if hashed is None:
            self._hash.verify(password, self._dummy)
            return False
        try:
            return self._hash.verify(password, hashed)
        except Exception:
            return False


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: str
    user_name: str
    project_id: str
    project_name: str
    roles: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    token_id: str
    method: str
    credential_id: str | None = None


class InvalidToken(Exception):
    """The token is malformed, expired, or not signed by us."""


class TokenCodec:
    def __init__(self, secret: str | None, *, ttl: timedelta, clock: Clock) -> None:
        # Set at start-up when the key lives in the database (bootstrap.prepare_identity).
        self.secret = secret
        self._ttl = ttl
        self._clock = clock

    def _key(self) -> str:
        if not self.secret:
            raise RuntimeError("the token signing key has not been loaded")
        return self.secret

    def issue(
        self,
        *,
        user_id: str,
        user_name: str,
        project_id: str,
        project_name: str,
        roles: tuple[str, ...],
        method: str,
        credential_id: str | None = None,
        not_after: datetime | None = None,
    ) -> tuple[str, TokenClaims]:
        # Milliseconds in `iat_ms`: a password change voids tokens issued before it, even
        # within the same second (JWT's iat is whole seconds).
        current = self._clock.now()
        now = current.replace(microsecond=current.microsecond // 1000 * 1000)
        expires = (now + self._ttl).replace(microsecond=0)
        if not_after is not None and not_after < expires:
            expires = not_after
        claims = TokenClaims(
            user_id,
            user_name,
            project_id,
            project_name,
            roles,
            now,
            expires,
            uuid.uuid4().hex,
            method,
            credential_id,
        )
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "sub": user_id,
            "name": user_name,
            "project_id": project_id,
            "project_name": project_name,
            "roles": list(roles),
            "iat": int(now.timestamp()),
            "iat_ms": int(now.timestamp() * 1000),
            "exp": int(expires.timestamp()),
            "jti": claims.token_id,
            "amr": method,
        }
        if credential_id:
            payload["app_cred"] = credential_id
        return jwt.encode(payload, self._key(), algorithm=ALGORITHM), claims

    def decode(self, token: str) -> TokenClaims:
        try:
            data = jwt.decode(
                token,
                self._key(),
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "project_id", "jti"]},
            )
            return TokenClaims(
                user_id=str(data["sub"]),
                user_name=str(data.get("name", "")),
                project_id=str(data["project_id"]),
                project_name=str(data.get("project_name", "")),
                roles=tuple(str(r) for r in data.get("roles", [])),
                issued_at=datetime.fromtimestamp(
                    int(data.get("iat_ms", int(data["iat"]) * 1000)) / 1000, UTC
                ),
                expires_at=datetime.fromtimestamp(int(data["exp"]), UTC),
                token_id=str(data["jti"]),
                method=str(data.get("amr", "password")),
                credential_id=data.get("app_cred"),
            )
        except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
            raise InvalidToken(str(exc)) from exc


def new_secret() -> str:
    return secrets.token_urlsafe(48)

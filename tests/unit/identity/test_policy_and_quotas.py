"""Pure identity rules: role hierarchy, grantable roles, quota arithmetic, token codec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from stackgate.core.context import RequestContext
from stackgate.core.errors import Forbidden
from stackgate.identity import policy
from stackgate.identity.errors import QuotaExceeded
from stackgate.identity.quotas import DEFAULT_QUOTAS, check, effective_limits
from stackgate.identity.security import InvalidToken, PasswordHasher, TokenCodec


def ctx(role: str) -> RequestContext:
    return RequestContext(project_id="p", user_id="u", roles=frozenset({role}))


@pytest.mark.parametrize(
    "role,rule,allowed",
    [
        ("reader", "server:get", True),
        ("reader", "server:create", False),
        ("member", "server:create", True),
        ("member", "member:write", False),
        ("manager", "member:write", True),
        ("manager", "quota:write", False),
        ("manager", "flavor:write", False),
        ("admin", "flavor:write", True),
        ("admin", "quota:write", True),
    ],
)
def test_role_hierarchy(role: str, rule: str, allowed: bool) -> None:
    assert policy.allows(ctx(role), rule) is allowed
    if allowed:
        policy.enforce(ctx(role), rule)
    else:
        with pytest.raises(Forbidden) as info:
            policy.enforce(ctx(role), rule)
        assert info.value.extra["rule"] == rule


def test_managers_grant_at_most_manager() -> None:
    assert policy.grantable(ctx("manager"), "manager")
    assert not policy.grantable(ctx("manager"), "admin")
    assert policy.grantable(ctx("admin"), "admin")


def test_quota_check_names_resource_limit_and_usage() -> None:
    limits = effective_limits({"instances": 2})
    assert limits["cores"] == DEFAULT_QUOTAS["cores"]
    check(limits, {"instances": 1}, {"instances": 1})
    with pytest.raises(QuotaExceeded) as info:
        check(limits, {"instances": 2}, {"instances": 1})
    assert info.value.extra == {"resource": "instances", "limit": 2, "in_use": 2, "requested": 1}
    check({"instances": -1}, {"instances": 10**6}, {"instances": 1})  # unlimited
    check(limits, {"cores": 20}, {"cores": -2})  # shrinking never fails


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.value = now

    def now(self) -> datetime:
        return self.value


def test_token_round_trip_expiry_and_tampering() -> None:
    clock = FixedClock(datetime.now(UTC))
    codec = TokenCodec("k" * 48, ttl=timedelta(hours=1), clock=clock)
    token, claims = codec.issue(
        user_id="u",
        user_name="alice",
        project_id="p",
        project_name="demo",
        roles=("member",),
        method="password",
    )
    decoded = codec.decode(token)
    assert (decoded.user_id, decoded.project_id, decoded.roles) == ("u", "p", ("member",))
    assert decoded.expires_at == claims.expires_at
    with pytest.raises(InvalidToken):
        TokenCodec("other-key" * 6, ttl=timedelta(hours=1), clock=clock).decode(token)
    header, payload, signature = token.split(".")
    with pytest.raises(InvalidToken):
        codec.decode(f"{header}.{payload}x.{signature}")
    unsigned = jwt.encode({"sub": "u", "project_id": "p"}, key=None, algorithm="none")
    with pytest.raises(InvalidToken):
        codec.decode(unsigned)
    clock.value = clock.value - timedelta(hours=2)
    old, _ = codec.issue(
        user_id="u",
        user_name="a",
        project_id="p",
        project_name="d",
        roles=("member",),
        method="password",
    )
    with pytest.raises(InvalidToken):
        codec.decode(old)


def test_passwords_hash_and_verify() -> None:
    hasher = PasswordHasher(fast=True)
    hashed = hasher.hash("correct horse")
    assert hashed.startswith("$argon2id$")
    assert hasher.verify("correct horse", hashed)
    assert not hasher.verify("wrong", hashed)
    assert not hasher.verify("anything", None)

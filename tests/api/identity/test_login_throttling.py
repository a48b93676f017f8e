"""Brute force on the token endpoints is slowed: 10 failed logins per user and 30 per client
address within a minute, then 429 too_many_attempts with Retry-After."""

from __future__ import annotations

import httpx
from tests.api.identity.personas import PASSWORD, Cast, Tenant, unique
from tests.builders import assert_problem


def login_body(
    name: str | None, password: str = PASSWORD, project: str = "alpha"
) -> dict[str, str]:
    assert name is not None
    return {"username": name, "password": password, "project": project}


def assert_throttled(response: httpx.Response) -> None:
    assert_problem(response, 429, "too_many_attempts")
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60, retry_after


class TestPerUser:
    async def test_ten_failures_lock_the_user_out_even_with_the_right_password(
        self, cast: Cast, tenant_a: Tenant
    ) -> None:
        http = await cast.client(None, address="10.1.0.1")
        victim = tenant_a.member.name
        for _ in range(10):
            wrong = await http.post("/api/v1/auth/tokens", json=login_body(victim, "guess-1234"))
            assert_problem(wrong, 401, "invalid_credentials")
        assert_throttled(await http.post("/api/v1/auth/tokens", json=login_body(victim)))
        form = {"username": str(victim), "password": PASSWORD, "scope": "alpha"}
        assert_throttled(await http.post("/api/v1/auth/token", data=form))
        # Per user: the same user from elsewhere is still throttled ...
        elsewhere = await cast.client(None, address="10.1.0.2")
        assert_throttled(await elsewhere.post("/api/v1/auth/tokens", json=login_body(victim)))
        # ... while another user from the same address logs in.
        other = await http.post("/api/v1/auth/tokens", json=login_body(tenant_a.reader.name))
        assert other.status_code == 201, other.text
        # Tokens already issued keep working.
        assert (await tenant_a.member.http.get("/api/v1/vms")).status_code == 200

    async def test_successful_logins_are_not_counted(self, cast: Cast, tenant_a: Tenant) -> None:
        http = await cast.client(None, address="10.1.0.3")
        for _ in range(12):
            ok = await http.post("/api/v1/auth/tokens", json=login_body(tenant_a.reader.name))
            assert ok.status_code == 201, ok.text

    async def test_guessing_an_application_credential_secret(
        self, cast: Cast, tenant_a: Tenant
    ) -> None:
        created = await tenant_a.member.http.post(
            "/api/v1/application-credentials", json={"name": "robot"}
        )
        assert created.status_code == 201, created.text
        cid = created.json()["id"]
        http = await cast.client(None, address="10.1.0.4")
        for _ in range(10):
            body = {"application_credential_id": cid, "application_credential_secret": "guess"}
            assert_problem(await http.post("/api/v1/auth/tokens", json=body), 401)
        right = {
            "application_credential_id": cid,
            "application_credential_secret": created.json()["secret"],
        }
        assert_throttled(await http.post("/api/v1/auth/tokens", json=right))


class TestPerAddress:
    async def test_thirty_failures_from_one_address_block_it_for_everyone(
        self, cast: Cast, tenant_a: Tenant
    ) -> None:
        attacker = await cast.client(None, address="10.2.0.1")
        # Spread over many names, so no single user reaches its own limit.
        for i in range(30):
            name = unique("sprayed") if i % 4 else str(tenant_a.manager.name)
            wrong = await attacker.post("/api/v1/auth/tokens", json=login_body(name, "guess-1234"))
            assert_problem(wrong, 401, "invalid_credentials")
        assert_throttled(
            await attacker.post("/api/v1/auth/tokens", json=login_body(tenant_a.reader.name))
        )
        # Another address is not affected, nor is the sprayed user (10 failures not reached).
        neighbour = await cast.client(None, address="10.2.0.2")
        for persona in (tenant_a.reader, tenant_a.manager):
            ok = await neighbour.post("/api/v1/auth/tokens", json=login_body(persona.name))
            assert ok.status_code == 201, ok.text

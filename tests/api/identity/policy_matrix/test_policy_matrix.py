"""The policy matrix, generated from the app's route table: every /api/v1 route declares the
policy rule its service enforces (`x-policy`), and every persona gets what that rule says:
no token or a bad one (expired, tampered, foreign key) 401 except on the public token routes,
a role below the rule's minimum 403 naming the rule, any other role success.

A new route without `x-policy`, or without a sample request (samples_*.py, by collection), fails
these tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from tests.api.identity.personas import (
    PASSWORD,
    Cast,
    FixedClock,
    Persona,
    Tenant,
    reencode,
    unique,
)

# Importing the sample modules is what registers their requests in SAMPLES.
from tests.api.identity.policy_matrix import (  # noqa: F401
    samples_activity,
    samples_block_storage,
    samples_catalog,
    samples_compute,
    samples_identity,
    samples_network,
)
from tests.api.identity.policy_matrix.routes import PUBLIC, api_routes, resource
from tests.api.identity.policy_matrix.world import SAMPLES, Call, World
from tests.builders import PROBLEM_JSON
from tests.conftest import login, make_settings

from stackgate.app import create_app
from stackgate.bootstrap import Container
from stackgate.identity.policy import RULES, Role
from stackgate.identity.security import TokenCodec


def expected(rule: str, who: Persona) -> int | None:
    """401 or 403 when the rule refuses the persona, None when it lets them through."""
    if rule == PUBLIC:
        return None
    if who.role is None:
        return 401
    return 403 if Role.parse(who.role) < RULES[rule].minimum else None


# the route table itself


def test_every_api_route_declares_a_known_policy() -> None:
    routes = api_routes()
    undeclared = [(m, p) for m, p, rule in routes if rule is None]
    assert not undeclared, f"routes without openapi_extra x-policy: {undeclared}"
    unknown = [(m, p, r) for m, p, r in routes if r != PUBLIC and r not in RULES]
    assert not unknown, f"x-policy naming no rule of stackgate.identity.policy.RULES: {unknown}"
    public = sorted((m, p) for m, p, r in routes if r == PUBLIC)
    assert public == [("POST", "/api/v1/auth/token"), ("POST", "/api/v1/auth/tokens")]
    # The personas of the matrix tell every role apart: each is refused somewhere the next
    # one up is let through.
    minimums = {RULES[r].minimum for _, _, r in routes if r != PUBLIC}
    assert minimums == {Role.READER, Role.MEMBER, Role.MANAGER, Role.ADMIN}


def test_every_api_route_has_a_sample_request() -> None:
    keys = {(m, p) for m, p, _ in api_routes()}
    missing = sorted(keys - SAMPLES.keys())
    assert not missing, f"add a sample request to SAMPLES for: {missing}"
    stale = sorted(SAMPLES.keys() - keys)
    assert not stale, f"samples for routes that no longer exist: {stale}"


def test_policy_is_published_in_the_openapi_document() -> None:
    document = create_app(make_settings("sqlite+aiosqlite://")).openapi()
    for method, path, rule in api_routes():
        assert document["paths"][path][method.lower()]["x-policy"] == rule, (method, path)


# the matrix


async def impostors(container: Container, cast: Cast, p: Tenant) -> list[Persona]:
    """Callers with a bad token for P's reader: expired, tampered (claiming admin), and
    signed with another deployment's key. They count as anonymous: 401 everywhere."""
    reader = p.reader
    claims = {
        "user_id": str(reader.user_id),
        "user_name": str(reader.name),
        "project_id": p.project_id,
        "project_name": p.name,
        "method": "password",
    }
    now = datetime.now(UTC)
    past = TokenCodec(
        container.codec.secret,
        ttl=timedelta(seconds=60),
        clock=FixedClock(now - timedelta(hours=2)),
    )
    expired, _ = past.issue(**claims, roles=("reader",))
    foreign_codec = TokenCodec(
        "another-deployment" * 4, ttl=timedelta(hours=1), clock=FixedClock(now)
    )
    foreign, _ = foreign_codec.issue(**claims, roles=("admin",))
    genuine = await login(container, str(reader.name), PASSWORD, p.name)
    tampered = reencode(genuine, roles=["admin"])
    return [
        Persona(label=label, role=None, http=await cast.client(token))
        for label, token in (("expired", expired), ("tampered", tampered), ("foreign", foreign))
    ]


@pytest.fixture
async def world(container: Container, cast: Cast) -> World:
    # P is unlimited: the matrix makes many throwaway servers in it.
    p = await cast.tenant("p", instances=-1, cores=-1, ram=-1)
    flavor = await cast.admin.post(
        "/api/v1/flavors", json={"name": "t9.shared", "vcpus": 1, "ram_mb": 128, "disk_gb": 1}
    )
    assert flavor.status_code == 201, flavor.text
    w = World(
        container=container,
        cast=cast,
        p=p,
        admin=await cast.cloud_admin(),
        anonymous=await cast.anonymous(),
        impostors=await impostors(container, cast, p),
        server_id="",
        image_id="",
        bystander_id=(await cast.user(unique("bystander")))["id"],
        flavor=flavor.json(),
    )
    w.server_id = await w.server(active=True)
    w.image_id = await w.image("p-image")
    return w


async def send(who: Persona, method: str, call: Call) -> httpx.Response:
    if call.form is not None:
        return await who.http.request(method, call.path, data=call.form)
    if call.json is not None:
        return await who.http.request(method, call.path, json=call.json)
    return await who.http.request(method, call.path)


def mismatch(rule: str, who: Persona, want: int | None, response: httpx.Response) -> str | None:
    """Why the answer disagrees with the rule, or None."""
    status = response.status_code
    if want is None:
        return None if 200 <= status < 300 else f"expected success, got {status}"
    if status != want:
        return f"expected {want}, got {status}"
    if not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        return "not application/problem+json"
    body = response.json()
    challenge = response.headers.get("www-authenticate", "")
    if want == 401 and not challenge.startswith("Bearer"):
        return "401 without WWW-Authenticate: Bearer"
    if want == 401 and who.label != "anonymous" and 'error="invalid_token"' not in challenge:
        return f"a bad token should be challenged with invalid_token: {challenge}"
    if want == 403 and (body.get("code"), body.get("rule")) != ("forbidden", rule):
        return f"403 should name the rule {rule}: {body}"
    return None


# One test per collection (each with a world of its own), so that the matrix's hundreds of
# requests spread over the test workers instead of running as one long test.
RESOURCES = sorted({resource(path) for _, path, _ in api_routes()})


@pytest.mark.parametrize("collection", RESOURCES)
async def test_every_route_answers_every_persona_as_its_policy_says(
    world: World, collection: str
) -> None:
    failures: list[str] = []
    checked = 0
    routes = [route for route in api_routes() if resource(route[1]) == collection]
    for method, path, rule in routes:
        assert rule is not None, (method, path)
        make = SAMPLES[method, path]
        for who in world.personas:
            call = await make(world, who)
            response = await send(who, method, call)
            want = expected(rule, who)
            problem = mismatch(rule, who, want, response)
            if problem:
                failures.append(
                    f"{method} {path} as {who.label} ({rule}): {problem}: {response.text[:300]}"
                )
            if call.after is not None and 200 <= response.status_code < 300:
                await call.after()
            checked += 1
    assert not failures, "\n".join(failures)
    assert routes and checked == len(routes) * 8

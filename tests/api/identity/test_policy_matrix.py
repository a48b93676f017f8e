"""The policy matrix, generated from the app's route table: every /api/v1 route declares the
policy rule its service enforces (`x-policy`), and every persona gets what that rule says:
no token or a bad one (expired, tampered, foreign key) 401 except on the public token routes,
a role below the rule's minimum 403 naming the rule, any other role success.

A new route without `x-policy`, or without a sample request below, fails these tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import fastapi.routing
import httpx
import pytest
from fastapi.routing import APIRoute
from tests.api.identity.personas import (
    PASSWORD,
    Cast,
    FixedClock,
    Persona,
    Tenant,
    reencode,
    unique,
)
from tests.builders import PROBLEM_JSON
from tests.conftest import login, make_settings

from stackgate.app import create_app
from stackgate.bootstrap import Container
from stackgate.identity.policy import RULES, Role
from stackgate.identity.security import TokenCodec

PUBLIC = "public"


def api_routes() -> list[tuple[str, str, str | None]]:
    """(method, path template, declared policy) of every /api/v1 route of the app.

    app.routes holds the included routers; FastAPI's iter_route_contexts flattens them into
    the APIRoutes requests are matched against (a plain list on FastAPI versions without it).
    """
    app = create_app(make_settings("sqlite+aiosqlite://"))
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    contexts: list[Any] = list(flatten(app.routes) if flatten else app.routes)
    found = []
    for context in contexts:
        route = getattr(context, "original_route", context)
        if not isinstance(route, APIRoute) or not context.path.startswith("/api/v1"):
            continue
        policy = (context.openapi_extra or {}).get("x-policy")
        for method in sorted(context.methods):
            found.append((method, context.path, policy))
    assert len(found) >= 40, f"the route table looks truncated: {found}"
    return found


@dataclass
class Call:
    """One request: the concrete path and body, and what to do once it has run."""

    path: str
    json: Any = None
    form: dict[str, str] | None = None
    after: Callable[[], Awaitable[None]] | None = None


@dataclass
class World:
    """Project P with its personas, the cloud admin, and shared read-only targets."""

    container: Container
    cast: Cast
    p: Tenant
    admin: Persona
    anonymous: Persona
    impostors: list[Persona]
    server_id: str
    image_id: str
    bystander_id: str
    flavor: dict[str, Any]

    @property
    def personas(self) -> list[Persona]:
        return [self.anonymous, *self.impostors, *self.p.personas, self.admin]

    def user(self, who: Persona) -> Persona:
        """Who a self-scoped request is about (callers without a valid token borrow the
        reader's identity)."""
        return who if who.role is not None else self.p.reader

    async def server(self, *, active: bool = False) -> str:
        """A throwaway server of P (made by P's member)."""
        body = {"name": unique("vm"), "flavor": "m1.tiny", "image": "cirros-0.6"}
        response = await self.p.member.http.post("/api/v1/vms", json=body)
        assert response.status_code == 202, response.text
        if active:
            await self.container.runner.drain()
        return str(response.json()["id"])

    async def member_of_p(self) -> str:
        """A throwaway user holding the reader role on P."""
        user = await self.cast.user()
        await self.cast.grant(self.p.project_id, user["id"], "reader")
        return str(user["id"])

    async def image(self, name: str | None = None) -> str:
        """A throwaway private image of P."""
        body = {"name": name or unique("img")}
        response = await self.p.member.http.post("/api/v1/images", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def credential(self, who: Persona) -> str:
        """A throwaway application credential of `who`'s own."""
        owner = self.user(who)
        response = await owner.http.post(
            "/api/v1/application-credentials", json={"name": unique("cred")}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def flavor_id(self) -> str:
        body = {"name": unique("t9.throwaway"), "vcpus": 1, "ram_mb": 128, "disk_gb": 1}
        response = await self.cast.admin.post("/api/v1/flavors", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


Sample = Callable[[World, Persona], Awaitable[Call]]
SAMPLES: dict[tuple[str, str], Sample] = {}


def sample(method: str, path: str) -> Callable[[Sample], Sample]:
    def register(fn: Sample) -> Sample:
        assert (method, path) not in SAMPLES, (method, path)
        SAMPLES[method, path] = fn
        return fn

    return register


# auth


def _login_body(w: World, who: Persona) -> dict[str, str]:
    user = w.user(who)
    assert user.name and user.password and user.project_name
    return {"username": user.name, "password": user.password, "project": user.project_name}


@sample("POST", "/api/v1/auth/tokens")
async def _issue_token(w: World, who: Persona) -> Call:
    return Call("/api/v1/auth/tokens", json=_login_body(w, who))


@sample("POST", "/api/v1/auth/token")
async def _issue_token_form(w: World, who: Persona) -> Call:
    body = _login_body(w, who)
    form = {"username": body["username"], "password": body["password"], "scope": body["project"]}
    return Call("/api/v1/auth/token", form=form)


@sample("GET", "/api/v1/auth/me")
async def _me(w: World, who: Persona) -> Call:
    return Call("/api/v1/auth/me")


# projects, members, quotas


@sample("GET", "/api/v1/projects")
async def _list_projects(w: World, who: Persona) -> Call:
    return Call("/api/v1/projects")


@sample("POST", "/api/v1/projects")
async def _create_project(w: World, who: Persona) -> Call:
    return Call("/api/v1/projects", json={"name": unique("project")})


@sample("GET", "/api/v1/projects/{project_id}")
async def _get_project(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/projects/{w.p.project_id}")


@sample("PATCH", "/api/v1/projects/{project_id}")
async def _update_project(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/projects/{w.p.project_id}", json={"description": f"by {who.label}"})


@sample("DELETE", "/api/v1/projects/{project_id}")
async def _delete_project(w: World, who: Persona) -> Call:
    project = await w.cast.project()
    return Call(f"/api/v1/projects/{project['id']}")


@sample("GET", "/api/v1/projects/{project_id}/members")
async def _list_members(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/projects/{w.p.project_id}/members")


@sample("POST", "/api/v1/projects/{project_id}/members")
async def _add_member(w: World, who: Persona) -> Call:
    user = await w.cast.user()
    body = {"user_id": user["id"], "role": "reader"}
    return Call(f"/api/v1/projects/{w.p.project_id}/members", json=body)


@sample("PUT", "/api/v1/projects/{project_id}/members/{user_id}")
async def _change_member(w: World, who: Persona) -> Call:
    user_id = await w.member_of_p()
    return Call(f"/api/v1/projects/{w.p.project_id}/members/{user_id}", json={"role": "member"})


@sample("DELETE", "/api/v1/projects/{project_id}/members/{user_id}")
async def _remove_member(w: World, who: Persona) -> Call:
    user_id = await w.member_of_p()
    return Call(f"/api/v1/projects/{w.p.project_id}/members/{user_id}")


@sample("GET", "/api/v1/projects/{project_id}/quotas")
async def _get_quotas(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/projects/{w.p.project_id}/quotas")


@sample("PUT", "/api/v1/projects/{project_id}/quotas")
async def _set_quotas(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/projects/{w.p.project_id}/quotas", json={"quotas": {"instances": -1}})


# users


@sample("GET", "/api/v1/users")
async def _list_users(w: World, who: Persona) -> Call:
    return Call("/api/v1/users")


@sample("POST", "/api/v1/users")
async def _create_user(w: World, who: Persona) -> Call:
    return Call("/api/v1/users", json={"name": unique("user"), "password": PASSWORD})


@sample("GET", "/api/v1/users/{user_id}")
async def _get_user(w: World, who: Persona) -> Call:
    # Someone else: user:read (one's own record is user:self, see test_users.py).
    return Call(f"/api/v1/users/{w.bystander_id}")


@sample("PATCH", "/api/v1/users/{user_id}")
async def _update_user(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/users/{w.bystander_id}", json={"email": f"{who.label}@example.org"})


@sample("DELETE", "/api/v1/users/{user_id}")
async def _delete_user(w: World, who: Persona) -> Call:
    user = await w.cast.user()
    return Call(f"/api/v1/users/{user['id']}")


@sample("POST", "/api/v1/users/{user_id}/password")
async def _change_password(w: World, who: Persona) -> Call:
    user = w.user(who)
    body = {"original_password": user.password, "password": user.password}

    async def login_again() -> None:
        if who.role is not None:
            await who.relogin(w.container)  # the change voided the persona's token

    return Call(f"/api/v1/users/{user.user_id}/password", json=body, after=login_again)


# application credentials


@sample("GET", "/api/v1/application-credentials")
async def _list_credentials(w: World, who: Persona) -> Call:
    return Call("/api/v1/application-credentials")


@sample("POST", "/api/v1/application-credentials")
async def _create_credential(w: World, who: Persona) -> Call:
    return Call("/api/v1/application-credentials", json={"name": unique("cred")})


@sample("GET", "/api/v1/application-credentials/{credential_id}")
async def _get_credential(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/application-credentials/{await w.credential(who)}")


@sample("DELETE", "/api/v1/application-credentials/{credential_id}")
async def _revoke_credential(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/application-credentials/{await w.credential(who)}")


# audit


@sample("GET", "/api/v1/audit")
async def _audit(w: World, who: Persona) -> Call:
    return Call("/api/v1/audit")


# servers


@sample("GET", "/api/v1/vms")
async def _list_servers(w: World, who: Persona) -> Call:
    return Call("/api/v1/vms")


@sample("POST", "/api/v1/vms")
async def _create_server(w: World, who: Persona) -> Call:
    return Call(
        "/api/v1/vms", json={"name": unique("vm"), "flavor": "m1.tiny", "image": "cirros-0.6"}
    )


@sample("GET", "/api/v1/vms/{server_id}")
async def _get_server(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/vms/{w.server_id}")


@sample("PATCH", "/api/v1/vms/{server_id}")
async def _update_server(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/vms/{w.server_id}", json={"description": f"by {who.label}"})


@sample("DELETE", "/api/v1/vms/{server_id}")
async def _delete_server(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/vms/{await w.server()}")


@sample("POST", "/api/v1/vms/{server_id}/actions/{action}")
async def _server_action(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/vms/{await w.server()}/actions/lock")


@sample("GET", "/api/v1/vms/{server_id}/actions")
async def _server_actions(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/vms/{w.server_id}/actions")


@sample("POST", "/api/v1/vms/{server_id}/snapshots")
async def _snapshot(w: World, who: Persona) -> Call:
    server_id = await w.server(active=True)
    return Call(f"/api/v1/vms/{server_id}/snapshots", json={"name": unique("snap")})


@sample("GET", "/api/v1/vms/{server_id}/snapshots")
async def _snapshots(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/vms/{w.server_id}/snapshots")


# catalog


@sample("GET", "/api/v1/flavors")
async def _list_flavors(w: World, who: Persona) -> Call:
    return Call("/api/v1/flavors")


@sample("POST", "/api/v1/flavors")
async def _create_flavor(w: World, who: Persona) -> Call:
    body = {"name": unique("t9.new"), "vcpus": 1, "ram_mb": 128, "disk_gb": 1}
    return Call("/api/v1/flavors", json=body)


@sample("GET", "/api/v1/flavors/{flavor_id}")
async def _get_flavor(w: World, who: Persona) -> Call:
    return Call("/api/v1/flavors/m1.small")


@sample("PUT", "/api/v1/flavors/{flavor_id}")
async def _replace_flavor(w: World, who: Persona) -> Call:
    body = {k: w.flavor[k] for k in ("name", "vcpus", "ram_mb", "disk_gb")}
    return Call(f"/api/v1/flavors/{w.flavor['id']}", json={**body, "description": who.label})


@sample("DELETE", "/api/v1/flavors/{flavor_id}")
async def _delete_flavor(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/flavors/{await w.flavor_id()}")


@sample("GET", "/api/v1/images")
async def _list_images(w: World, who: Persona) -> Call:
    return Call("/api/v1/images")


@sample("POST", "/api/v1/images")
async def _create_image(w: World, who: Persona) -> Call:
    return Call("/api/v1/images", json={"name": unique("img"), "visibility": "private"})


@sample("GET", "/api/v1/images/{image_id}")
async def _get_image(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/images/{w.image_id}")


@sample("PUT", "/api/v1/images/{image_id}")
async def _replace_image(w: World, who: Persona) -> Call:
    body = {"name": "p-image", "description": who.label, "visibility": "private"}
    return Call(f"/api/v1/images/{w.image_id}", json=body)


@sample("DELETE", "/api/v1/images/{image_id}")
async def _delete_image(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/images/{await w.image()}")


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


async def test_every_route_answers_every_persona_as_its_policy_says(world: World) -> None:
    failures: list[str] = []
    checked = 0
    for method, path, rule in api_routes():
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
    assert checked == len(api_routes()) * 8

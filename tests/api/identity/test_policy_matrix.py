"""The policy matrix, generated from the app's route table: every /api/v1 route declares the
policy rule its service enforces (`x-policy`), and every persona gets what that rule says:
no token or a bad one (expired, tampered, foreign key) 401 except on the public token routes,
a role below the rule's minimum 403 naming the rule, any other role success.

A new route without `x-policy`, or without a sample request below, fails these tests.
"""

from __future__ import annotations

import functools
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


@functools.cache
def api_routes() -> tuple[tuple[str, str, str | None], ...]:
    """(method, path template, declared policy) of every /api/v1 route of the app (read once:
    the matrix's tests per collection all ask for it).

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
    return tuple(found)


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


@sample("POST", "/api/v1/vms/{server_id}/actions/add-security-group")
async def _add_server_group(w: World, who: Persona) -> Call:
    group_id = await _sg(w)
    return Call(
        f"/api/v1/vms/{await w.server()}/actions/add-security-group", json={"name": group_id}
    )


@sample("POST", "/api/v1/vms/{server_id}/actions/remove-security-group")
async def _remove_server_group(w: World, who: Persona) -> Call:
    return Call(
        f"/api/v1/vms/{await w.server()}/actions/remove-security-group", json={"name": "default"}
    )


@sample("POST", "/api/v1/vms/{server_id}/volumes")
async def _attach_volume(w: World, who: Persona) -> Call:
    server_id = await w.server(active=True)
    return Call(f"/api/v1/vms/{server_id}/volumes", json={"volume_id": await _volume(w)})


@sample("GET", "/api/v1/vms/{server_id}/volumes")
async def _list_attachments(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/vms/{w.server_id}/volumes")


@sample("DELETE", "/api/v1/vms/{server_id}/volumes/{volume_id}")
async def _detach_volume(w: World, who: Persona) -> Call:
    server_id = await w.server(active=True)
    volume_id = await _volume(w)
    response = await w.p.member.http.post(
        f"/api/v1/vms/{server_id}/volumes", json={"volume_id": volume_id}
    )
    assert response.status_code == 202, response.text
    await w.container.runner.drain()
    return Call(f"/api/v1/vms/{server_id}/volumes/{volume_id}")


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


# block storage


async def _volume(w: World) -> str:
    """A throwaway available volume of P (made by P's member; P's volume quotas unlimited)."""
    await w.cast.set_quotas(w.p.project_id, volumes=-1, snapshots=-1, gigabytes=-1)
    response = await w.p.member.http.post("/api/v1/volumes", json={"size": 1})
    assert response.status_code == 202, response.text
    await w.container.runner.drain()
    return str(response.json()["id"])


async def _volume_snapshot(w: World) -> str:
    """A throwaway available snapshot of a throwaway volume of P."""
    body = {"volume_id": await _volume(w)}
    response = await w.p.member.http.post("/api/v1/volume-snapshots", json=body)
    assert response.status_code == 202, response.text
    await w.container.runner.drain()
    return str(response.json()["id"])


@sample("GET", "/api/v1/volume-types")
async def _list_volume_types(w: World, who: Persona) -> Call:
    return Call("/api/v1/volume-types")


@sample("GET", "/api/v1/volumes")
async def _list_volumes(w: World, who: Persona) -> Call:
    return Call("/api/v1/volumes")


@sample("POST", "/api/v1/volumes")
async def _create_volume(w: World, who: Persona) -> Call:
    await w.cast.set_quotas(w.p.project_id, volumes=-1, snapshots=-1, gigabytes=-1)
    return Call("/api/v1/volumes", json={"size": 1, "name": unique("vol")})


@sample("GET", "/api/v1/volumes/{volume_id}")
async def _get_volume(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/volumes/{await _volume(w)}")


@sample("PATCH", "/api/v1/volumes/{volume_id}")
async def _update_volume(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/volumes/{await _volume(w)}", json={"description": who.label})


@sample("DELETE", "/api/v1/volumes/{volume_id}")
async def _delete_volume(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/volumes/{await _volume(w)}")


@sample("POST", "/api/v1/volumes/{volume_id}/actions/extend")
async def _extend_volume(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/volumes/{await _volume(w)}/actions/extend", json={"new_size": 2})


@sample("GET", "/api/v1/volume-snapshots")
async def _list_volume_snapshots(w: World, who: Persona) -> Call:
    return Call("/api/v1/volume-snapshots")


@sample("POST", "/api/v1/volume-snapshots")
async def _create_volume_snapshot(w: World, who: Persona) -> Call:
    return Call("/api/v1/volume-snapshots", json={"volume_id": await _volume(w)})


@sample("GET", "/api/v1/volume-snapshots/{snapshot_id}")
async def _get_volume_snapshot(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/volume-snapshots/{await _volume_snapshot(w)}")


@sample("DELETE", "/api/v1/volume-snapshots/{snapshot_id}")
async def _delete_volume_snapshot(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/volume-snapshots/{await _volume_snapshot(w)}")


# networks, subnets, ports, floating IPs

_NET_CACHE: dict[int, dict[str, str]] = {}
_CIDRS = iter(range(1, 60000))


async def _net_quotas(w: World) -> None:
    await w.cast.set_quotas(w.p.project_id, networks=-1, subnets=-1, ports=-1, floating_ips=-1)


async def _network(w: World, *, subnet: bool = True) -> tuple[str, str | None]:
    """A throwaway network of P (made by P's member), with a fresh /24 subnet."""
    await _net_quotas(w)
    http = w.p.member.http
    response = await http.post("/api/v1/networks", json={"name": unique("net")})
    assert response.status_code == 202, response.text
    network_id = str(response.json()["id"])
    if not subnet:
        return network_id, None
    return network_id, await _subnet(w, network_id)


async def _subnet(w: World, network_id: str) -> str:
    n = next(_CIDRS)
    body = {"network_id": network_id, "cidr": f"10.{n // 256 % 256}.{n % 256}.0/24"}
    response = await w.p.member.http.post("/api/v1/subnets", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def _shared_net(w: World) -> dict[str, str]:
    """One network, subnet, port and floating IP of P for the read and update samples."""
    cached = _NET_CACHE.get(id(w))
    if cached is None:
        network_id, subnet_id = await _network(w)
        assert subnet_id is not None
        cached = {"network": network_id, "subnet": subnet_id}
        cached["port"] = await _port(w, network_id)
        cached["fip"] = await _fip(w)
        _NET_CACHE[id(w)] = cached
    return cached


async def _port(w: World, network_id: str | None = None) -> str:
    if network_id is None:
        network_id = (await _shared_net(w))["network"]
    response = await w.p.member.http.post("/api/v1/ports", json={"network_id": network_id})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def _fip(w: World) -> str:
    await _net_quotas(w)
    response = await w.p.member.http.post("/api/v1/floating-ips", json={})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


@sample("GET", "/api/v1/networks")
async def _list_networks(w: World, who: Persona) -> Call:
    return Call("/api/v1/networks")


@sample("POST", "/api/v1/networks")
async def _create_network(w: World, who: Persona) -> Call:
    await _net_quotas(w)
    return Call("/api/v1/networks", json={"name": unique("net")})


@sample("GET", "/api/v1/networks/{network_id}")
async def _get_network(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/networks/{(await _shared_net(w))['network']}")


@sample("PATCH", "/api/v1/networks/{network_id}")
async def _update_network(w: World, who: Persona) -> Call:
    network_id = (await _shared_net(w))["network"]
    return Call(f"/api/v1/networks/{network_id}", json={"description": who.label})


@sample("DELETE", "/api/v1/networks/{network_id}")
async def _delete_network(w: World, who: Persona) -> Call:
    network_id, _ = await _network(w, subnet=False)
    return Call(f"/api/v1/networks/{network_id}")


@sample("GET", "/api/v1/subnets")
async def _list_subnets(w: World, who: Persona) -> Call:
    return Call("/api/v1/subnets")


@sample("POST", "/api/v1/subnets")
async def _create_subnet(w: World, who: Persona) -> Call:
    n = next(_CIDRS)
    network_id = (await _shared_net(w))["network"]
    body = {"network_id": network_id, "cidr": f"10.{n // 256 % 256}.{n % 256}.0/24"}
    return Call("/api/v1/subnets", json=body)


@sample("GET", "/api/v1/subnets/{subnet_id}")
async def _get_subnet(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/subnets/{(await _shared_net(w))['subnet']}")


@sample("PATCH", "/api/v1/subnets/{subnet_id}")
async def _update_subnet(w: World, who: Persona) -> Call:
    subnet_id = (await _shared_net(w))["subnet"]
    return Call(f"/api/v1/subnets/{subnet_id}", json={"name": who.label})


@sample("DELETE", "/api/v1/subnets/{subnet_id}")
async def _delete_subnet(w: World, who: Persona) -> Call:
    subnet_id = await _subnet(w, (await _shared_net(w))["network"])
    return Call(f"/api/v1/subnets/{subnet_id}")


@sample("GET", "/api/v1/ports")
async def _list_ports(w: World, who: Persona) -> Call:
    return Call("/api/v1/ports")


@sample("POST", "/api/v1/ports")
async def _create_port(w: World, who: Persona) -> Call:
    return Call("/api/v1/ports", json={"network_id": (await _shared_net(w))["network"]})


@sample("GET", "/api/v1/ports/{port_id}")
async def _get_port(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/ports/{(await _shared_net(w))['port']}")


@sample("PATCH", "/api/v1/ports/{port_id}")
async def _update_port(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/ports/{(await _shared_net(w))['port']}", json={"name": who.label})


@sample("DELETE", "/api/v1/ports/{port_id}")
async def _delete_port(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/ports/{await _port(w)}")


@sample("GET", "/api/v1/floating-ips")
async def _list_fips(w: World, who: Persona) -> Call:
    return Call("/api/v1/floating-ips")


@sample("POST", "/api/v1/floating-ips")
async def _create_fip(w: World, who: Persona) -> Call:
    await _net_quotas(w)
    return Call("/api/v1/floating-ips", json={"description": who.label})


@sample("GET", "/api/v1/floating-ips/{fip_id}")
async def _get_fip(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/floating-ips/{(await _shared_net(w))['fip']}")


@sample("DELETE", "/api/v1/floating-ips/{fip_id}")
async def _delete_fip(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/floating-ips/{await _fip(w)}")


@sample("POST", "/api/v1/floating-ips/{fip_id}/actions/associate")
async def _associate_fip(w: World, who: Persona) -> Call:
    body = {"vm_id": await w.server()}
    return Call(f"/api/v1/floating-ips/{await _fip(w)}/actions/associate", json=body)


@sample("POST", "/api/v1/floating-ips/{fip_id}/actions/disassociate")
async def _disassociate_fip(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/floating-ips/{await _fip(w)}/actions/disassociate")


# security groups


async def _sg(w: World) -> str:
    """A throwaway security group of P (made by P's member; P's SG quotas unlimited)."""
    await w.cast.set_quotas(w.p.project_id, security_groups=-1, security_group_rules=-1)
    response = await w.p.member.http.post("/api/v1/security-groups", json={"name": unique("sg")})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def _sg_rule(w: World) -> tuple[str, str]:
    """A throwaway group of P with one extra rule: (group id, rule id)."""
    group_id = await _sg(w)
    rule = {"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}
    response = await w.p.member.http.post(f"/api/v1/security-groups/{group_id}/rules", json=rule)
    assert response.status_code == 202, response.text
    return group_id, str(response.json()["id"])


@sample("GET", "/api/v1/security-groups")
async def _list_sgs(w: World, who: Persona) -> Call:
    return Call("/api/v1/security-groups")


@sample("POST", "/api/v1/security-groups")
async def _create_sg(w: World, who: Persona) -> Call:
    await w.cast.set_quotas(w.p.project_id, security_groups=-1, security_group_rules=-1)
    return Call("/api/v1/security-groups", json={"name": unique("sg")})


@sample("GET", "/api/v1/security-groups/{group_id}")
async def _get_sg(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/security-groups/{await _sg(w)}")


@sample("PATCH", "/api/v1/security-groups/{group_id}")
async def _update_sg(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/security-groups/{await _sg(w)}", json={"description": who.label})


@sample("DELETE", "/api/v1/security-groups/{group_id}")
async def _delete_sg(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/security-groups/{await _sg(w)}")


@sample("GET", "/api/v1/security-groups/{group_id}/rules")
async def _list_sg_rules(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/security-groups/{await _sg(w)}/rules")


@sample("POST", "/api/v1/security-groups/{group_id}/rules")
async def _create_sg_rule(w: World, who: Persona) -> Call:
    rule = {"direction": "ingress", "protocol": "tcp", "port_range_min": 80, "port_range_max": 80}
    return Call(f"/api/v1/security-groups/{await _sg(w)}/rules", json=rule)


@sample("GET", "/api/v1/security-groups/{group_id}/rules/{rule_id}")
async def _get_sg_rule(w: World, who: Persona) -> Call:
    group_id, rule_id = await _sg_rule(w)
    return Call(f"/api/v1/security-groups/{group_id}/rules/{rule_id}")


@sample("DELETE", "/api/v1/security-groups/{group_id}/rules/{rule_id}")
async def _delete_sg_rule(w: World, who: Persona) -> Call:
    group_id, rule_id = await _sg_rule(w)
    return Call(f"/api/v1/security-groups/{group_id}/rules/{rule_id}")


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


def resource(path: str) -> str:
    """The collection a route belongs to: /api/v1/<resource>/..."""
    return path.removeprefix("/api/v1/").split("/")[0]


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

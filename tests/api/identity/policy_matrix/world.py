"""What the policy matrix runs in: a World (project P, its personas and shared targets), the
Call a sample makes, and SAMPLES, the registry of one sample request per route."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tests.api.identity.personas import Cast, Persona, Tenant, unique

from stackgate.bootstrap import Container


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

    # The two below serve the samples of servers as well as those of their own collections.

    async def volume(self) -> str:
        """A throwaway available volume of P (made by P's member; P's volume quotas
        unlimited)."""
        await self.cast.set_quotas(self.p.project_id, volumes=-1, snapshots=-1, gigabytes=-1)
        response = await self.p.member.http.post("/api/v1/volumes", json={"size": 1})
        assert response.status_code == 202, response.text
        await self.container.runner.drain()
        return str(response.json()["id"])

    async def security_group(self) -> str:
        """A throwaway security group of P (made by P's member; P's SG quotas unlimited)."""
        await self.cast.set_quotas(self.p.project_id, security_groups=-1, security_group_rules=-1)
        response = await self.p.member.http.post(
            "/api/v1/security-groups", json={"name": unique("sg")}
        )
        assert response.status_code == 202, response.text
        return str(response.json()["id"])


Sample = Callable[[World, Persona], Awaitable[Call]]
SAMPLES: dict[tuple[str, str], Sample] = {}


def sample(method: str, path: str) -> Callable[[Sample], Sample]:
    def register(fn: Sample) -> Sample:
        assert (method, path) not in SAMPLES, (method, path)
        SAMPLES[method, path] = fn
        return fn

    return register

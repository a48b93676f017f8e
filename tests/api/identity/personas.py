"""Personas for the identity tests: projects, users and roles made through the API by the cloud
admin, each persona with a client of its own logged in to one project."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from tests.conftest import login

from stackgate.app import create_app
from stackgate.bootstrap import Container

PASSWORD = "persona-password-1"
_serial = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test of the run uses."""
    return f"{prefix}-{next(_serial)}"


class FixedClock:
    """A clock standing still at `now` (for tokens issued in the past)."""

    def __init__(self, now: datetime) -> None:
        self.value = now

    def now(self) -> datetime:
        return self.value


def reencode(token: str, **changes: object) -> str:
    """The token with its payload changed and its signature kept (a forgery)."""
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    raw = json.dumps(data, separators=(",", ":")).encode()
    forged = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


@dataclass
class Persona:
    """Someone calling the API: anonymous (role None) or a user with one role on one project."""

    label: str
    role: str | None
    http: httpx.AsyncClient
    user_id: str | None = None
    name: str | None = None
    password: str | None = None
    project_id: str | None = None
    project_name: str | None = None

    async def relogin(self, container: Container) -> None:
        """A fresh token (after something voided the old one)."""
        assert self.name is not None and self.password is not None
        token = await login(container, self.name, self.password, self.project_name)
        self.http.headers["Authorization"] = f"Bearer {token}"


@dataclass
class Tenant:
    """A project with a reader, a member and a manager."""

    project_id: str
    name: str
    reader: Persona
    member: Persona
    manager: Persona

    @property
    def personas(self) -> list[Persona]:
        return [self.reader, self.member, self.manager]


class Cast:
    """Makes projects, users and personas through the admin API; closes the clients it opens."""

    def __init__(
        self, container: Container, admin: httpx.AsyncClient, stack: contextlib.AsyncExitStack
    ) -> None:
        self.container = container
        self.admin = admin
        self._stack = stack
        self._app: FastAPI | None = None

    async def client(self, token: str | None, *, address: str = "127.0.0.1") -> httpx.AsyncClient:
        """A client on the in-process app (one app for the whole cast: building an app's routes
        costs a first request ~60 ms), calling from `address`."""
        if self._app is None:
            self._app = create_app(self.container.settings, container=self.container)
        transport = httpx.ASGITransport(
            app=self._app, raise_app_exceptions=False, client=(address, 40000)
        )
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        http = httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)
        return await self._stack.enter_async_context(http)

    async def project(self, name: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {"name": name or unique("project"), **fields}
        response = await self.admin.post("/api/v1/projects", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def user(
        self, name: str | None = None, password: str = PASSWORD, **fields: Any
    ) -> dict[str, Any]:
        body = {"name": name or unique("user"), "password": password, **fields}
        response = await self.admin.post("/api/v1/users", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def grant(self, project_id: str, user_id: str, role: str) -> None:
        response = await self.admin.post(
            f"/api/v1/projects/{project_id}/members", json={"user_id": user_id, "role": role}
        )
        assert response.status_code == 201, response.text

    async def set_quotas(self, project_id: str, **limits: int) -> None:
        response = await self.admin.put(
            f"/api/v1/projects/{project_id}/quotas", json={"quotas": limits}
        )
        assert response.status_code == 200, response.text

    async def persona(
        self, project: dict[str, Any], role: str, label: str | None = None
    ) -> Persona:
        """A new user with `role` on `project`, logged in to it."""
        user = await self.user(unique(label or role))
        await self.grant(project["id"], user["id"], role)
        token = await login(self.container, user["name"], PASSWORD, project["name"])
        return Persona(
            label=label or role,
            role=role,
            http=await self.client(token),
            user_id=user["id"],
            name=user["name"],
            password=PASSWORD,
            project_id=project["id"],
            project_name=project["name"],
        )

    async def tenant(self, name: str | None = None, **quotas: int) -> Tenant:
        """A project with a reader, a member and a manager (and `quotas`, if given)."""
        project = await self.project(name or unique("tenant"))
        if quotas:
            await self.set_quotas(project["id"], **quotas)
        return Tenant(
            project_id=project["id"],
            name=project["name"],
            reader=await self.persona(project, "reader"),
            member=await self.persona(project, "member"),
            manager=await self.persona(project, "manager"),
        )

    async def admin_project(self) -> dict[str, Any]:
        me = (await self.admin.get("/api/v1/auth/me")).json()
        return dict(me["project"])

    async def cloud_admin(self) -> Persona:
        """A second cloud admin (admin role on the admin project)."""
        return await self.persona(await self.admin_project(), "admin")

    async def anonymous(self) -> Persona:
        return Persona(label="anonymous", role=None, http=await self.client(None))

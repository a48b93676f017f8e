"""The fake cloud's state: the simulator behind it and Keystone's fixed directory.

Like DevStack: domain `Default`, users `admin` and `demo` (both with the admin password),
projects `admin` and `demo`, roles admin > manager > member > reader (+ service). Ids are
derived from names, so they survive restarts; projects made through the API and role
assignments live in the simulator's store (SimProject, SimRoleAssignment).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field

from stackgate.providers.simulator import SimulatorProvider

DOMAIN_ID = "default"
DOMAIN_NAME = "Default"
REGION = "RegionOne"
# Keystone's bootstrap roles and their implications (admin => manager => member => reader).
ROLES = ("admin", "manager", "member", "reader", "service")
IMPLIED = {
    "admin": ("admin", "manager", "member", "reader"),
    "manager": ("manager", "member", "reader"),
    "member": ("member", "reader"),
    "reader": ("reader",),
    "service": ("service",),
}


def fixed_id(kind: str, name: str) -> str:
    """Keystone-style hex ids, stable across restarts of the fake."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"stackgate-fakecloud:{kind}/{name}").hex


def role_id(name: str) -> str:
    return fixed_id("role", name)


@dataclass(frozen=True, slots=True)
class FakeUser:
    id: str
    name: str


@dataclass(slots=True)
class FakeCloud:
    """What every route of the fake needs."""

    sim: SimulatorProvider
    admin_password: str
    token_ttl_seconds: int = 3600
    # DevStack's `private` network in the admin project; off where a test compares the cloud
    # with what StackGate made in it.
    devstack_networks: bool = True
    # Nova's, Cinder's and Neutron's default per-project quotas; off for a cloud whose
    # operator leaves quotas to the control plane in front of it.
    enforce_quotas: bool = True
    users: dict[str, FakeUser] = field(default_factory=dict)
    # Seeded projects (name -> id) with the user names holding which role there.
    seeded_projects: dict[str, str] = field(default_factory=dict)
    seeded_grants: tuple[tuple[str, str, str], ...] = ()
    revoked: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for name in ("admin", "demo"):
            self.users[fixed_id("user", name)] = FakeUser(fixed_id("user", name), name)
        for name in ("admin", "demo"):
            self.seeded_projects[name] = fixed_id("project", name)
        self.seeded_grants = (
            ("admin", "admin", "admin"),
            ("demo", "demo", "member"),
            ("admin", "demo", "admin"),
        )

    @property
    def token_key(self) -> bytes:
        # Derived from the admin password: tokens survive a restart of the fake, as Fernet
        # tokens survive a restart of Keystone (the keys are on disk).
        return hashlib.sha256(b"stackgate-fakecloud-token:" + self.admin_password.encode()).digest()

    def user_by_name(self, name: str) -> FakeUser | None:
        return next((u for u in self.users.values() if u.name == name), None)

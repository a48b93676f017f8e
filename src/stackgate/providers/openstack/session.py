"""Connections to the cloud, and the thread pool every blocking SDK call runs in.

The base connection is configured the way OpenStack users configure every tool: a clouds.yaml
cloud name (`STACKGATE_OS_CLOUD`, the `OS_CLOUD` of other tools) or the standard `OS_*`
variables. Creates act in a project-scoped connection: a StackGate project maps to the Keystone
project named `<STACKGATE_OS_PROJECT_PREFIX><project id>` (made on first use, with the
provider's user given `STACKGATE_OS_MEMBER_ROLE` on it), so the cloud's own quotas and isolation
apply per project. Reads, actions and deletes by id use the base connection (a cloud admin's,
as a control plane's service account is), which sees every project.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

from keystoneauth1 import exceptions as ks_exc
from openstack.connection import Connection
from openstack.identity.v3._proxy import Proxy as IdentityProxy
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

import openstack
from openstack import exceptions as sdk_exc
from stackgate.providers.base import ProviderMisconfigured, ProviderUnavailable
from stackgate.providers.openstack.errors import translated

T = TypeVar("T")

_HOW = (
    "set STACKGATE_OS_CLOUD to a cloud of a clouds.yaml (./clouds.yaml, "
    "~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml, or the file "
    "OS_CLIENT_CONFIG_FILE names), or the OS_* variables (OS_AUTH_URL, OS_USERNAME, "
    "OS_PASSWORD, OS_PROJECT_NAME, OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME)"
)


def misconfigured(
    cloud: str | None, exc: BaseException | None = None, *, missing: list[str] | None = None
) -> str:
    """What is wrong with the provider's configuration, and how to set it, in one line."""
    if isinstance(exc, ks_exc.MissingRequiredOptions):
        missing = [option.dest for option in exc.options]
    if missing:
        where = f"the clouds.yaml cloud {cloud!r} lacks" if cloud else "the OS_* variables lack"
        names = missing if cloud else ["OS_" + name.upper() for name in missing]
        said = f"{where} {', '.join(names)}"
    else:
        said = str(getattr(exc, "message", None) or exc).rstrip(".") or type(exc).__name__
        if cloud:
            said = f"STACKGATE_OS_CLOUD={cloud}: {said}"
    return f"STACKGATE_PROVIDER=openstack has no usable cloud: {said}; {_HOW}"


class CloudSession:
    """Owns the SDK connections and the threads that use them."""

    def __init__(
        self,
        *,
        cloud: str | None = None,
        connect_kwargs: dict[str, Any] | None = None,
        threads: int = 16,
        call_timeout: float = 30.0,
        project_prefix: str = "stackgate-",
        member_role: str = "member",
        read_attempts: int = 3,
    ) -> None:
        self._cloud = cloud
        self._connect_kwargs = dict(connect_kwargs or {})
        self._call_timeout = call_timeout
        self.project_prefix = project_prefix
        self._member_role = member_role
        self._read_attempts = read_attempts
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self._base: Connection | None = None
        self._scoped: dict[str, Connection] = {}
        self._keystone_ids: dict[str, str] = {}
        self._project_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    # --- blocking side (runs in the pool) -------------------------------------------------

    def base(self) -> Connection:
        """The configured connection, opened on first use."""
        with self._lock:
            if self._base is None:
                kwargs = {"api_timeout": self._call_timeout, **self._connect_kwargs}
                if self._cloud:
                    kwargs["cloud"] = self._cloud
                self._base = openstack.connect(**kwargs)
            return self._base

    def check_config(self) -> None:
        """Build the configured connection, which reads clouds.yaml and the OS_* variables but
        calls nothing: ProviderMisconfigured says what is missing."""
        try:
            config = self.base().config.config
        except (sdk_exc.SDKException, ks_exc.ClientException, OSError, ValueError) as exc:
            raise ProviderMisconfigured(misconfigured(self._cloud, exc)) from exc
        # keystoneauth's password plugin insists on auth_url alone; the rest would be refused
        # by the cloud at the first call, long after start-up.
        auth = config.get("auth") or {}
        if config.get("auth_type", "password") in ("password", "v3password"):
            missing = [
                name
                for name, keys in (
                    ("username", ("username", "user_id")),
                    ("password", ("password",)),
                )
                if not any(auth.get(key) for key in keys)
            ]
            if missing:
                raise ProviderMisconfigured(misconfigured(self._cloud, missing=missing))

    def keystone_project_id(self, project_id: str) -> str:
        """The Keystone project a StackGate project acts in, made on first use."""
        known = self._keystone_ids.get(project_id)
        if known is not None:
            return known
        # Two steps of one new project (its network and its port) must not both create it.
        with self._lock:
            project_lock = self._project_locks.setdefault(project_id, threading.Lock())
        with project_lock:
            known = self._keystone_ids.get(project_id)
            if known is None:
                known = self._ensure_keystone_project(project_id)
                self._keystone_ids[project_id] = known
            return known

    def _ensure_keystone_project(self, project_id: str) -> str:
        base = self.base()
        identity = cast(IdentityProxy, base.identity)
        name = self.project_prefix + project_id
        user_id = base.current_user_id
        if user_id is None or base.current_project_id is None:
            raise ProviderUnavailable(
                "the configured OpenStack credentials are not project-scoped", status_code=401
            )
        # Our projects live in the domain of the project the provider's credentials name.
        domain_id = identity.get_project(base.current_project_id).domain_id
        project = identity.find_project(name, domain_id=domain_id, ignore_missing=True)
        if project is None:
            try:
                project = identity.create_project(
                    name=name, domain_id=domain_id, description=f"StackGate project {project_id}"
                )
            except sdk_exc.ConflictException:
                # Another StackGate process made it meanwhile.
                project = identity.find_project(name, domain_id=domain_id, ignore_missing=False)
        role = identity.find_role(self._member_role, ignore_missing=False)
        identity.assign_project_role_to_user(project, user_id, role)
        return str(project.id)

    def for_project(self, project_id: str) -> Connection:
        """A connection scoped to the Keystone project of a StackGate project."""
        with self._lock:
            found = self._scoped.get(project_id)
        if found is not None:
            return found
        keystone_id = self.keystone_project_id(project_id)
        scoped = self.base().connect_as(project_id=keystone_id)
        with self._lock:
            return self._scoped.setdefault(project_id, scoped)

    # --- async side -------------------------------------------------------------------------

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self._threads, thread_name_prefix="openstack"
            )
        return self._executor

    async def call(self, fn: Callable[[], T], *, idempotent: bool = False) -> T:
        """Run a blocking SDK call in the pool, errors translated. Idempotent calls (reads)
        are retried on a retryable failure, with backoff; changing calls are not (the worker's
        steps are repeatable and find what an earlier attempt made by its tag)."""
        loop = asyncio.get_running_loop()

        def run() -> T:
            with translated():
                return fn()

        if not idempotent or self._read_attempts <= 1:
            return await loop.run_in_executor(self._pool(), run)
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(ProviderUnavailable),
            stop=stop_after_attempt(self._read_attempts),
            wait=wait_exponential(multiplier=0.2, max=2),
            reraise=True,
        ):
            with attempt:
                return await loop.run_in_executor(self._pool(), run)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        with self._lock:
            connections = [*self._scoped.values(), *([self._base] if self._base else [])]
            self._scoped.clear()
            self._base = None
        for conn in connections:
            conn.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

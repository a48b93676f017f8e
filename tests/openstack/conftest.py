"""The OpenStack provider's suite: openstacksdk for real, over HTTP, against `stackgate
fakecloud` served on a real port by this test process, with the simulator behind it.

`sim` is the cloud's truth (inspect it, inject faults into it); `os_provider` is StackGate's
OpenStack provider talking to it; `os_conn` is a plain openstacksdk connection (the admin of
the fake) for checking what the cloud shows its users.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from openstack.connection import Connection

import openstack
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.runner import running_fakecloud
from stackgate.providers.openstack import OpenStackProvider
from stackgate.providers.openstack.session import CloudSession
from stackgate.providers.simulator import SimulatorProvider

FAKE_PASSWORD = "fake-admin-password"


def connect_kwargs(url: str, *, username: str = "admin", project: str = "admin") -> dict[str, Any]:
    """What clouds.yaml would say for the fake at `url`."""
    return {
        "auth_url": f"{url}/v3",
        "username": username,
        "password": FAKE_PASSWORD,
        "project_name": project,
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        "region_name": "RegionOne",
        "interface": "public",
    }


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorProvider]:
    provider = SimulatorProvider(database_url="sqlite+aiosqlite://", speed=0, seed=42)
    await provider.start()
    yield provider
    await provider.close()


@pytest.fixture
async def fake_url(sim: SimulatorProvider) -> AsyncIterator[str]:
    async with running_fakecloud(FakeCloud(sim=sim, admin_password=FAKE_PASSWORD)) as url:
        yield url


@pytest.fixture
async def os_provider(fake_url: str) -> AsyncIterator[OpenStackProvider]:
    provider = OpenStackProvider(CloudSession(connect_kwargs=connect_kwargs(fake_url), threads=4))
    await provider.start()
    yield provider
    await provider.close()


@pytest.fixture
def os_conn(fake_url: str) -> Connection:
    """A blocking SDK connection: call it through `asyncio.to_thread` (the fake serves on
    this test's event loop)."""
    return openstack.connect(**connect_kwargs(fake_url))


async def openstack_cli(fake_url: str, workdir: Path, *args: str) -> tuple[int, str, str]:
    """Run the real `openstack` command (python-openstackclient) as a user would against the
    fake: the OS_* variables, and no clouds.yaml of the machine's user. Returns (exit code,
    stdout, stderr)."""
    (workdir / "clouds.yaml").write_text("clouds: {}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(
        {
            "OS_AUTH_URL": f"{fake_url}/v3",
            "OS_USERNAME": "admin",
            "OS_PASSWORD": FAKE_PASSWORD,
            "OS_PROJECT_NAME": "admin",
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
            "OS_REGION_NAME": "RegionOne",
            "OS_IDENTITY_API_VERSION": "3",
            "OS_CLIENT_CONFIG_FILE": str(workdir / "clouds.yaml"),
            "HOME": str(workdir),
        }
    )
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "openstack"),
        *args,
        env=env,
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()

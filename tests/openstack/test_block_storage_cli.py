"""The real `openstack` command (python-openstackclient) against the fake Cinder."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from stackgate.providers.simulator import SimulatorProvider

from .conftest import FAKE_PASSWORD


async def openstack(fake_url: str, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "OS_AUTH_URL": f"{fake_url}/v3",
        "OS_USERNAME": "admin",
        "OS_PASSWORD": FAKE_PASSWORD,
        "OS_PROJECT_NAME": "admin",
        "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
        "OS_REGION_NAME": "RegionOne",
        "OS_IDENTITY_API_VERSION": "3",
    }
    env.pop("OS_CLOUD", None)
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "openstack"),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def run_json(fake_url: str, *args: str) -> Any:
    code, out, err = await openstack(fake_url, *args, "-f", "json")
    assert code == 0, err
    return json.loads(out)


async def test_volume_create_list_and_delete_with_the_openstack_command(
    fake_url: str, sim: SimulatorProvider
) -> None:
    made = await run_json(
        fake_url, "volume", "create", "--size", "1", "--property", "team=blue", "v1"
    )
    assert (made["name"], made["size"], made["status"]) == ("v1", 1, "creating")
    assert made["properties"] == {"team": "blue"}
    assert (await sim.block_storage.get_volume(made["id"])).status == "available"

    listed = await run_json(fake_url, "volume", "list")
    assert [(v["ID"], v["Name"], v["Status"], v["Size"]) for v in listed] == [
        (made["id"], "v1", "available", 1)
    ]
    filtered = await run_json(fake_url, "volume", "list", "--property", "team=red")
    assert filtered == []

    shown = await run_json(fake_url, "volume", "show", "v1")
    assert (shown["id"], shown["bootable"], shown["type"]) == (made["id"], False, "__DEFAULT__")

    code, _, err = await openstack(fake_url, "volume", "delete", "v1")
    assert code == 0, err
    assert await run_json(fake_url, "volume", "list") == []

    code, _, err = await openstack(fake_url, "volume", "delete", "v1")
    assert code != 0
    assert "No Volume found for v1" in err

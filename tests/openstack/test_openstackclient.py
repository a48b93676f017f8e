"""The real `openstack` CLI against the fake, as a user runs it: env vars, no clouds.yaml."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.openstack.conftest import FAKE_PASSWORD

CLI = str(Path(sys.executable).parent / "openstack")


async def openstack(fake_url: str, tmp_path: Path, *args: str) -> str:
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
            # No clouds.yaml of the machine's user: an empty one of our own.
            "OS_CLIENT_CONFIG_FILE": str(tmp_path / "clouds.yaml"),
            "HOME": str(tmp_path),
        }
    )
    proc = await asyncio.create_subprocess_exec(
        CLI,
        *args,
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, f"openstack {' '.join(args)}: {err.decode()}"
    return out.decode()


async def as_json(fake_url: str, tmp_path: Path, *args: str) -> Any:
    return json.loads(await openstack(fake_url, tmp_path, *args, "-f", "json"))


async def test_server_create_list_stop_delete(fake_url: str, tmp_path: Path) -> None:
    (tmp_path / "clouds.yaml").write_text("clouds: {}\n")
    created = await as_json(
        fake_url,
        tmp_path,
        "server",
        "create",
        "--flavor",
        "m1.tiny",
        "--image",
        "cirros-0.6",
        "--nic",
        "none",
        "--wait",
        "vm1",
    )
    assert created["name"] == "vm1"
    assert created["status"] == "ACTIVE"
    listed = await as_json(fake_url, tmp_path, "server", "list")
    assert [(s["Name"], s["Status"]) for s in listed] == [("vm1", "ACTIVE")]
    assert listed[0]["Flavor"] == "m1.tiny"
    assert listed[0]["Image"] == "cirros-0.6"

    await openstack(fake_url, tmp_path, "server", "stop", "vm1")
    shown = await as_json(fake_url, tmp_path, "server", "show", "vm1")
    assert shown["status"] == "SHUTOFF"
    assert shown["OS-EXT-STS:vm_state"] == "stopped"

    await openstack(fake_url, tmp_path, "server", "delete", "--wait", "vm1")
    assert await as_json(fake_url, tmp_path, "server", "list") == []


async def test_server_on_a_network(fake_url: str, tmp_path: Path) -> None:
    (tmp_path / "clouds.yaml").write_text("clouds: {}\n")
    await openstack(fake_url, tmp_path, "network", "create", "net1")
    await openstack(
        fake_url,
        tmp_path,
        "subnet",
        "create",
        "--network",
        "net1",
        "--subnet-range",
        "192.168.10.0/24",
        "sub1",
    )
    created = await as_json(
        fake_url,
        tmp_path,
        "server",
        "create",
        "--flavor",
        "m1.small",
        "--image",
        "debian-12",
        "--network",
        "net1",
        "--wait",
        "vm2",
    )
    assert created["status"] == "ACTIVE"
    shown = await as_json(fake_url, tmp_path, "server", "show", "vm2")
    address = shown["addresses"]["net1"][0]
    assert address.startswith("192.168.10.")
    ports = await as_json(fake_url, tmp_path, "port", "list", "--server", "vm2")
    assert [p["Fixed IP Addresses"][0]["ip_address"] for p in ports] == [address]

"""The real `openstack` CLI against the fake, as a user runs it: env vars, no clouds.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.openstack.conftest import openstack_cli


async def openstack(fake_url: str, tmp_path: Path, *args: str) -> str:
    code, out, err = await openstack_cli(fake_url, tmp_path, *args)
    assert code == 0, f"openstack {' '.join(args)}: {err}"
    return out


async def as_json(fake_url: str, tmp_path: Path, *args: str) -> Any:
    return json.loads(await openstack(fake_url, tmp_path, *args, "-f", "json"))


async def test_server_create_list_stop_delete(fake_url: str, tmp_path: Path) -> None:
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

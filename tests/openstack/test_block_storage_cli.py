"""The real `openstack` command (python-openstackclient) against the fake Cinder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stackgate.providers.simulator import SimulatorProvider

from .conftest import openstack_cli


async def run_json(fake_url: str, workdir: Path, *args: str) -> Any:
    code, out, err = await openstack_cli(fake_url, workdir, *args, "-f", "json")
    assert code == 0, err
    return json.loads(out)


async def test_volume_create_list_and_delete_with_the_openstack_command(
    fake_url: str, sim: SimulatorProvider, tmp_path: Path
) -> None:
    made = await run_json(
        fake_url, tmp_path, "volume", "create", "--size", "1", "--property", "team=blue", "v1"
    )
    assert (made["name"], made["size"], made["status"]) == ("v1", 1, "creating")
    assert made["properties"] == {"team": "blue"}
    assert (await sim.block_storage.get_volume(made["id"])).status == "available"

    listed = await run_json(fake_url, tmp_path, "volume", "list")
    assert [(v["ID"], v["Name"], v["Status"], v["Size"]) for v in listed] == [
        (made["id"], "v1", "available", 1)
    ]
    filtered = await run_json(fake_url, tmp_path, "volume", "list", "--property", "team=red")
    assert filtered == []

    shown = await run_json(fake_url, tmp_path, "volume", "show", "v1")
    assert (shown["id"], shown["bootable"], shown["type"]) == (made["id"], False, "__DEFAULT__")

    code, _, err = await openstack_cli(fake_url, tmp_path, "volume", "delete", "v1")
    assert code == 0, err
    assert await run_json(fake_url, tmp_path, "volume", "list") == []

    code, _, err = await openstack_cli(fake_url, tmp_path, "volume", "delete", "v1")
    assert code != 0
    assert "No Volume found for v1" in err

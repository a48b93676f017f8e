"""What the fake Nova puts on the wire, read with a plain openstacksdk connection: the shapes,
codes and headers an unmodified client sees."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest
from openstack.connection import Connection

import openstack
from openstack import exceptions as sdk_exc
from stackgate.core.ids import stable_id
from tests.openstack.conftest import connect_kwargs

T = TypeVar("T")
TINY_ID = stable_id("flavor/m1.tiny")
CIRROS_ID = stable_id("image/cirros-0.6")


async def sdk(fn: Callable[[], T]) -> T:
    """Every SDK call (attribute access included) in a thread: the fake serves on this loop."""
    return await asyncio.to_thread(fn)


def boot(conn: Connection, name: str = "vm1", **kwargs: Any) -> Any:
    server = conn.compute.create_server(
        name=name, flavor_id=TINY_ID, image_id=CIRROS_ID, networks="none", **kwargs
    )
    return conn.compute.wait_for_server(server, interval=0.05, wait=10)


async def test_discovery_documents(fake_url: str) -> None:
    async with httpx.AsyncClient() as client:
        root = (await client.get(f"{fake_url}/compute/")).json()
        v21 = (await client.get(f"{fake_url}/compute/v2.1/")).json()["version"]
        glance = await client.get(f"{fake_url}/image/")
    assert [v["id"] for v in root["versions"]] == ["v2.0", "v2.1"]
    assert (v21["min_version"], v21["version"], v21["status"]) == ("2.1", "2.96", "CURRENT")
    assert glance.status_code == 300
    assert glance.json()["versions"][0]["status"] == "CURRENT"


async def test_server_body(os_conn: Connection) -> None:
    server = await sdk(lambda: boot(os_conn, tags=["a"], metadata={"k": "v"}))
    got = await sdk(lambda: os_conn.compute.get_server(server.id))
    assert got.status == "ACTIVE"
    assert (got.vm_state, got.task_state, got.power_state) == ("active", None, 1)
    # 2.47+: the flavor is embedded, without its id.
    assert got.flavor.original_name == "m1.tiny"
    assert (got.flavor.vcpus, got.flavor.ram, got.flavor.disk) == (1, 512, 5)
    assert got.image.id == CIRROS_ID
    assert got.compute_host.startswith("sim-host-")  # admin sees the host
    assert got.launched_at is not None and got.created_at.endswith("Z")
    assert got.tags == ["a"] and got.metadata == {"k": "v"}
    assert got.is_locked is False
    (entries,) = got.addresses.values()
    assert entries[0]["OS-EXT-IPS:type"] == "fixed" and entries[0]["version"] == 4
    assert got.project_id == os_conn.current_project_id
    assert got.user_id == os_conn.current_user_id
    assert got.fault is None


async def test_error_bodies_and_request_ids(fake_url: str, os_conn: Connection) -> None:
    token = await sdk(lambda: os_conn.auth_token)
    async with httpx.AsyncClient() as client:
        missing = await client.get(
            f"{fake_url}/compute/v2.1/servers/nope",
            headers={"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.79"},
        )
        unauthenticated = await client.get(f"{fake_url}/compute/v2.1/servers")
        too_new = await client.get(
            f"{fake_url}/compute/v2.1/flavors",
            headers={"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.200"},
        )
    assert missing.status_code == 404
    assert missing.json() == {
        "itemNotFound": {"code": 404, "message": "Instance nope could not be found."}
    }
    assert missing.headers["x-openstack-request-id"].startswith("req-")
    assert missing.headers["x-compute-request-id"] == missing.headers["x-openstack-request-id"]
    assert missing.headers["openstack-api-version"] == "compute 2.79"
    assert unauthenticated.status_code == 401
    assert too_new.status_code == 406


async def test_conflict_is_novas(os_conn: Connection) -> None:
    server = await sdk(lambda: boot(os_conn))
    with pytest.raises(sdk_exc.ConflictException) as caught:
        await sdk(lambda: os_conn.compute.start_server(server.id))
    assert caught.value.details == (
        f"Cannot 'start' instance {server.id} while it is in vm_state active"
    )


async def test_other_projects_servers_are_404(fake_url: str, os_conn: Connection) -> None:
    server = await sdk(lambda: boot(os_conn))
    demo = openstack.connect(**connect_kwargs(fake_url, username="demo", project="demo"))
    with pytest.raises(sdk_exc.NotFoundException):
        await sdk(lambda: demo.compute.get_server(server.id))
    with pytest.raises(sdk_exc.NotFoundException):
        await sdk(lambda: demo.compute.stop_server(server.id))
    assert await sdk(lambda: list(demo.compute.servers())) == []
    mine = await sdk(lambda: boot(demo, "demo-vm"))
    assert mine.project_id == demo.current_project_id
    # The admin sees every project's servers only when asking for all of them.
    own = await sdk(lambda: [s.name for s in os_conn.compute.servers()])
    every = await sdk(lambda: sorted(s.name for s in os_conn.compute.servers(all_projects=True)))
    assert own == ["vm1"]
    assert every == ["demo-vm", "vm1"]


async def test_instance_actions_log(os_conn: Connection) -> None:
    server = await sdk(lambda: boot(os_conn))
    await sdk(lambda: os_conn.compute.stop_server(server.id))
    actions = await sdk(lambda: list(os_conn.compute.server_actions(server.id)))
    assert [a.action for a in actions] == ["stop", "create"]
    assert all(a.request_id.startswith("req-") for a in actions)
    one = await sdk(lambda: os_conn.compute.get_server_action(actions[0].request_id, server.id))
    assert one.action == "stop" and one.events


async def test_flavors_catalog(os_conn: Connection) -> None:
    flavors = await sdk(lambda: {f.name: f for f in os_conn.compute.flavors()})
    assert sorted(flavors) == ["m1.large", "m1.medium", "m1.small", "m1.tiny", "m1.xlarge"]
    assert flavors["m1.medium"].id == stable_id("flavor/m1.medium")
    assert (flavors["m1.medium"].vcpus, flavors["m1.medium"].ram) == (2, 4096)
    found = await sdk(lambda: os_conn.compute.find_flavor("m1.small", ignore_missing=False))
    assert found.id == stable_id("flavor/m1.small")
    made = await sdk(
        lambda: os_conn.compute.create_flavor(name="x1", vcpus=1, ram=128, disk=1, id="x1-id")
    )
    assert made.id == "x1-id"
    with pytest.raises(sdk_exc.ConflictException):
        await sdk(lambda: os_conn.compute.create_flavor(name="x1", vcpus=1, ram=128, disk=1))
    await sdk(lambda: os_conn.compute.delete_flavor("x1-id", ignore_missing=False))
    with pytest.raises(sdk_exc.NotFoundException):
        await sdk(lambda: os_conn.compute.get_flavor("x1-id"))


async def test_quota_and_limits(os_conn: Connection) -> None:
    await sdk(lambda: boot(os_conn))
    limits = await sdk(lambda: os_conn.compute.get_limits())
    assert limits.absolute.instances == 10
    assert limits.absolute.instances_used == 1
    assert limits.absolute.total_cores_used == 1


async def test_volume_attachment_shapes(os_conn: Connection, sim: Any) -> None:
    from stackgate.providers.storage import VolumeSpec

    server = await sdk(lambda: boot(os_conn))
    volume = await sim.block_storage.create_volume(
        VolumeSpec(name="v", size_gb=1, project_id=server.project_id)
    )
    made = await sdk(lambda: os_conn.compute.create_volume_attachment(server.id, volume=volume.id))
    assert (made.device, made.volume_id, made.server_id) == ("/dev/vdb", volume.id, server.id)
    listed = await sdk(lambda: list(os_conn.compute.volume_attachments(server.id)))
    assert [a.volume_id for a in listed] == [volume.id]
    got = await sdk(lambda: os_conn.compute.get_server(server.id))
    assert [v["id"] for v in got.attached_volumes] == [volume.id]
    await sdk(lambda: os_conn.compute.delete_volume_attachment(server.id, volume.id))
    with pytest.raises(sdk_exc.NotFoundException):
        await sdk(
            lambda: os_conn.compute.delete_volume_attachment(
                server.id, volume.id, ignore_missing=False
            )
        )


async def test_lock_blocks_actions(os_conn: Connection) -> None:
    server = await sdk(lambda: boot(os_conn))
    await sdk(lambda: os_conn.compute.lock_server(server.id, locked_reason="maintenance"))
    got = await sdk(lambda: os_conn.compute.get_server(server.id))
    assert (got.is_locked, got.locked_reason) == (True, "maintenance")
    with pytest.raises(sdk_exc.ConflictException, match="is locked"):
        await sdk(lambda: os_conn.compute.stop_server(server.id))
    await sdk(lambda: os_conn.compute.unlock_server(server.id))
    await sdk(lambda: os_conn.compute.stop_server(server.id))

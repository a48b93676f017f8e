"""StackGate's OpenStack compute provider against the fake Nova, with openstacksdk for real:
the same scenarios the simulator's own suite runs, seen through the wire."""

from __future__ import annotations

import asyncio

import pytest
from openstack.connection import Connection

from stackgate.core.ids import stable_id
from stackgate.providers.base import (
    FlavorSpec,
    ImageSpec,
    ProviderBadRequest,
    ProviderConflict,
    ProviderForbidden,
    ProviderNotFound,
    ServerSpec,
)
from stackgate.providers.openstack import OpenStackProvider
from stackgate.providers.simulator import SimulatorProvider
from stackgate.providers.storage import VolumeSpec

TINY = FlavorSpec("m1.tiny", 1, 512, 5, id=stable_id("flavor/m1.tiny"))
SMALL = FlavorSpec("m1.small", 1, 2048, 20, id=stable_id("flavor/m1.small"))
CIRROS = ImageSpec(id=stable_id("image/cirros-0.6"), name="cirros-0.6")
DEBIAN = ImageSpec(id=stable_id("image/debian-12"), name="debian-12", min_disk_gb=2, min_ram_mb=512)
PROJECT = "p-compute"


def spec(name: str = "vm1", **kwargs: object) -> ServerSpec:
    fields: dict[str, object] = {
        "name": name,
        "flavor": TINY,
        "image": CIRROS,
        "project_id": PROJECT,
        **kwargs,
    }
    return ServerSpec(**fields)  # type: ignore[arg-type]


async def active(provider: OpenStackProvider, **kwargs: object) -> str:
    server = await provider.compute.create_server(spec(**kwargs))  # type: ignore[arg-type]
    got = await provider.compute.get_server(server.id)
    assert got.status == "ACTIVE", got
    return server.id


async def test_create_answers_build_then_active(os_provider: OpenStackProvider) -> None:
    created = await os_provider.compute.create_server(spec(tags=("sg-op-1",), metadata={"a": "b"}))
    # speed 0: the build finishes on the next read, which the create itself makes.
    assert created.status in ("BUILD", "ACTIVE")
    got = await os_provider.compute.get_server(created.id)
    assert got.status == "ACTIVE"
    assert got.vm_state == "active"
    assert got.task_state is None
    assert got.power_state == 1
    assert got.flavor == TINY
    assert got.image_id == CIRROS.id
    assert got.ip_address is not None and got.ip_address.startswith("10.0.")
    assert got.host is not None and got.host.startswith("sim-host-")
    assert got.launched_at is not None
    assert got.tags == ("sg-op-1",)
    assert got.fault is None


async def test_same_dto_as_the_simulator(
    os_provider: OpenStackProvider, sim: SimulatorProvider
) -> None:
    server_id = await active(os_provider)
    through_wire = await os_provider.compute.get_server(server_id)
    direct = await sim.compute.get_server(server_id)
    assert through_wire == direct


async def test_servers_filters_by_tags_across_projects(os_provider: OpenStackProvider) -> None:
    first = await os_provider.compute.create_server(spec("a", tags=("t1", "t2")))
    await os_provider.compute.create_server(spec("b", tags=("t1",), project_id="other"))
    both = await os_provider.compute.servers(tags=("t1",))
    assert [s.name for s in both] == ["a", "b"]
    only = await os_provider.compute.servers(tags=("t1", "t2"))
    assert [s.id for s in only] == [first.id]


async def test_lifecycle_actions(os_provider: OpenStackProvider) -> None:
    compute = os_provider.compute
    server_id = await active(os_provider)
    steps = [
        (compute.stop_server, "SHUTOFF"),
        (compute.start_server, "ACTIVE"),
        (compute.pause_server, "PAUSED"),
        (compute.unpause_server, "ACTIVE"),
        (compute.suspend_server, "SUSPENDED"),
        (compute.resume_server, "ACTIVE"),
        (compute.shelve_server, "SHELVED_OFFLOADED"),
        (compute.unshelve_server, "ACTIVE"),
    ]
    for call, status in steps:
        await call(server_id)
        assert (await compute.get_server(server_id)).status == status, call
    await compute.reboot_server(server_id, "HARD")
    assert (await compute.get_server(server_id)).status == "ACTIVE"
    await compute.rebuild_server(server_id, DEBIAN)
    rebuilt = await compute.get_server(server_id)
    assert (rebuilt.status, rebuilt.image_id) == ("ACTIVE", DEBIAN.id)


async def test_resize_confirm_and_revert(os_provider: OpenStackProvider) -> None:
    compute = os_provider.compute
    server_id = await active(os_provider)
    await compute.resize_server(server_id, SMALL)
    assert (await compute.get_server(server_id)).status == "VERIFY_RESIZE"
    await compute.confirm_server_resize(server_id)
    confirmed = await compute.get_server(server_id)
    assert (confirmed.status, confirmed.flavor) == ("ACTIVE", SMALL)
    await compute.resize_server(server_id, TINY)
    # Shrinking the root disk is refused by the driver: the server rolls back as it was.
    after = await compute.get_server(server_id)
    assert after.flavor == SMALL
    medium = FlavorSpec("m1.medium", 2, 4096, 40, id=stable_id("flavor/m1.medium"))
    await compute.resize_server(server_id, medium)
    assert (await compute.get_server(server_id)).status == "VERIFY_RESIZE"
    await compute.revert_server_resize(server_id)
    reverted = await compute.get_server(server_id)
    assert (reverted.status, reverted.flavor) == ("ACTIVE", SMALL)


async def test_snapshot_becomes_an_active_image(os_provider: OpenStackProvider) -> None:
    server_id = await active(os_provider)
    image = await os_provider.compute.create_server_image(server_id, "snap-1")
    # speed 0: the snapshot may already be done when Glance is first asked.
    assert image.name == "snap-1" and image.status in ("queued", "saving", "active")
    done = await os_provider.image.get_image(image.id)
    assert done.status == "active"
    assert done.size_bytes == 5 * 2**30 // 10
    await os_provider.image.delete_image(image.id)
    with pytest.raises(ProviderNotFound):
        await os_provider.image.get_image(image.id)
    await os_provider.image.delete_image(image.id)  # already gone: no error


async def test_delete_then_not_found(os_provider: OpenStackProvider) -> None:
    server_id = await active(os_provider)
    await os_provider.compute.delete_server(server_id)
    with pytest.raises(ProviderNotFound, match=f"Instance {server_id} could not be found"):
        await os_provider.compute.get_server(server_id)
    await os_provider.compute.delete_server(server_id)  # missing: no error


async def test_volume_attach_and_detach(
    os_provider: OpenStackProvider, sim: SimulatorProvider
) -> None:
    server_id = await active(os_provider)
    volume = await sim.block_storage.create_volume(
        VolumeSpec(name="v", size_gb=1, project_id=PROJECT)
    )
    assert (await sim.block_storage.get_volume(volume.id)).status == "available"
    device = await os_provider.compute.create_volume_attachment(server_id, volume.id)
    assert device == "/dev/vdb"
    in_use = await sim.block_storage.get_volume(volume.id)
    assert in_use.status == "in-use"
    again = await sim.block_storage.create_volume(
        VolumeSpec(name="w", size_gb=1, project_id=PROJECT)
    )
    with pytest.raises(ProviderBadRequest, match="status must be 'available'"):
        await os_provider.compute.create_volume_attachment(server_id, volume.id)
    await os_provider.compute.delete_volume_attachment(server_id, volume.id)
    assert (await sim.block_storage.get_volume(volume.id)).status == "available"
    # Not attached to this server: not an error.
    await os_provider.compute.delete_volume_attachment(server_id, again.id)


async def test_wrong_state_is_novas_409(os_provider: OpenStackProvider) -> None:
    server_id = await active(os_provider)
    await os_provider.compute.stop_server(server_id)
    assert (await os_provider.compute.get_server(server_id)).status == "SHUTOFF"
    with pytest.raises(ProviderConflict) as caught:
        await os_provider.compute.stop_server(server_id)
    assert caught.value.message == (
        f"Cannot 'stop' instance {server_id} while it is in vm_state stopped"
    )
    assert caught.value.status_code == 409


async def test_unknown_server_is_404(os_provider: OpenStackProvider) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(ProviderNotFound):
        await os_provider.compute.get_server(missing)
    with pytest.raises(ProviderNotFound):
        await os_provider.compute.start_server(missing)


async def test_eleventh_instance_is_over_quota(os_provider: OpenStackProvider) -> None:
    for i in range(10):
        await os_provider.compute.create_server(spec(f"q{i}", project_id="p-quota"))
    with pytest.raises(ProviderForbidden) as caught:
        await os_provider.compute.create_server(spec("q10", project_id="p-quota"))
    assert caught.value.status_code == 403
    assert caught.value.message == (
        "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances"
    )
    # Another project has its own quota.
    await os_provider.compute.create_server(spec("elsewhere", project_id="p-other"))


async def test_a_flavor_the_cloud_lacks_is_created(
    os_provider: OpenStackProvider, os_conn: Connection
) -> None:
    custom = FlavorSpec("sg.custom", 2, 1024, 10, id=stable_id("flavor/sg.custom"))
    created = await os_provider.compute.create_server(spec(flavor=custom))
    got = await os_provider.compute.get_server(created.id)
    assert got.flavor == custom
    # Even `os_conn.compute` blocks (discovery): everything SDK runs in the thread.
    flavor = await asyncio.to_thread(lambda: os_conn.compute.get_flavor(custom.id))
    assert (flavor.name, flavor.vcpus, flavor.ram, flavor.disk) == ("sg.custom", 2, 1024, 10)


async def test_boot_from_volume(os_provider: OpenStackProvider, sim: SimulatorProvider) -> None:
    volume = await sim.block_storage.create_volume(
        VolumeSpec(name="root", size_gb=5, project_id=PROJECT, image_id=CIRROS.id)
    )
    server = await os_provider.compute.create_server(spec(boot_volume_id=volume.id))
    got = await os_provider.compute.get_server(server.id)
    assert got.status == "ACTIVE"
    assert got.image_id == CIRROS.id
    assert (await sim.block_storage.get_volume(volume.id)).status == "in-use"

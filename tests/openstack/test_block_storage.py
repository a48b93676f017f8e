"""The OpenStack provider's block storage through openstacksdk, over HTTP, against the fake
Cinder; and what the fake Cinder shows plain SDK users (bodies, errors, isolation)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import requests
from openstack.connection import Connection

import openstack
from openstack import exceptions as sdk_exc
from stackgate.providers.base import (
    FlavorSpec,
    ImageSpec,
    ProviderBadRequest,
    ProviderForbidden,
    ProviderNotFound,
    ServerSpec,
)
from stackgate.providers.openstack import OpenStackProvider
from stackgate.providers.simulator import SimulatorProvider
from stackgate.providers.storage import ProviderAttachment, VolumeSpec
from stackgate.semantics.cinder import VOLUME_TYPES

from .conftest import connect_kwargs


def spec(name: str = "vol", size_gb: int = 1, **kwargs: Any) -> VolumeSpec:
    return VolumeSpec(name=name, size_gb=size_gb, project_id=kwargs.pop("project", "p1"), **kwargs)


async def keystone_project(provider: OpenStackProvider, project_id: str) -> str:
    return await asyncio.to_thread(provider.session.keystone_project_id, project_id)


async def test_a_volume_is_made_in_its_projects_keystone_project_and_becomes_available(
    os_provider: OpenStackProvider, os_conn: Connection
) -> None:
    storage = os_provider.block_storage
    made = await storage.create_volume(spec("data", 2, metadata={"stackgate_id": "v-1"}))
    assert (made.status, made.size_gb, made.name) == ("creating", 2, "data")
    volume = await storage.get_volume(made.id)
    assert (volume.status, volume.bootable, volume.volume_type, volume.image_id) == (
        "available",
        False,
        "__DEFAULT__",
        None,
    )
    assert volume.metadata == {"stackgate_id": "v-1"}
    seen = await asyncio.to_thread(lambda: os_conn.block_storage.get_volume(made.id))
    assert seen.project_id == await keystone_project(os_provider, "p1")
    assert seen.user_id == os_conn.current_user_id


async def test_a_volume_from_an_image_is_bootable_and_names_its_image(
    os_provider: OpenStackProvider,
) -> None:
    made = await os_provider.block_storage.create_volume(spec("boot", 1, image_id="img-cirros"))
    volume = await os_provider.block_storage.get_volume(made.id)
    assert (volume.bootable, volume.image_id, volume.status) == (True, "img-cirros", "available")


async def test_volumes_are_filtered_by_metadata_by_cinder_itself(
    os_provider: OpenStackProvider, os_conn: Connection
) -> None:
    storage = os_provider.block_storage
    wanted = await storage.create_volume(spec("a", metadata={"owner": "x", "role": "data"}))
    await storage.create_volume(spec("b", metadata={"owner": "y"}))
    await storage.create_volume(spec("c", project="p2", metadata={"owner": "x"}))
    found = await storage.volumes(metadata={"owner": "x", "role": "data"})
    assert [v.id for v in found] == [wanted.id]
    assert len(await storage.volumes()) == 3
    # The server filters (the query python-openstackclient sends), not only the provider.
    raw = await asyncio.to_thread(
        lambda: list(
            os_conn.block_storage.volumes(all_projects=True, properties=str({"owner": "x"}))
        )
    )
    assert sorted(v.name for v in raw) == ["a", "c"]


async def test_extend_grows_and_refuses_a_size_that_is_not_larger(
    os_provider: OpenStackProvider,
) -> None:
    storage = os_provider.block_storage
    made = await storage.create_volume(spec(size_gb=2))
    await storage.get_volume(made.id)
    await storage.extend_volume(made.id, 5)
    assert (await storage.get_volume(made.id)).size_gb == 5
    with pytest.raises(ProviderBadRequest) as refused:
        await storage.extend_volume(made.id, 5)
    assert refused.value.status_code == 400
    assert refused.value.message == (
        "Invalid input received: New size for extend must be greater than current size. "
        "(current: 5, extended: 5)."
    )


async def test_a_snapshot_blocks_its_volumes_delete_until_it_is_gone(
    os_provider: OpenStackProvider, os_conn: Connection
) -> None:
    storage = os_provider.block_storage
    volume = await storage.create_volume(spec(size_gb=3))
    await storage.get_volume(volume.id)
    snap = await storage.create_snapshot(volume.id, "snap", metadata={"stackgate_id": "s-1"})
    assert (snap.status, snap.volume_id, snap.size_gb) == ("creating", volume.id, 3)
    assert (await storage.get_snapshot(snap.id)).status == "available"
    assert [s.id for s in await storage.snapshots(metadata={"stackgate_id": "s-1"})] == [snap.id]
    assert await storage.snapshots(metadata={"stackgate_id": "other"}) == []
    seen = await asyncio.to_thread(lambda: os_conn.block_storage.get_snapshot(snap.id))
    assert seen.project_id == await keystone_project(os_provider, "p1")
    with pytest.raises(ProviderBadRequest, match="must not be migrating, attached") as refused:
        await storage.delete_volume(volume.id)
    assert "have snapshots" in refused.value.message
    await storage.delete_snapshot(snap.id)
    with pytest.raises(ProviderNotFound, match=f"Snapshot {snap.id} could not be found"):
        await storage.get_snapshot(snap.id)
    await storage.delete_snapshot(snap.id)  # gone: not an error
    await storage.delete_volume(volume.id)
    with pytest.raises(ProviderNotFound):
        await storage.get_volume(volume.id)


async def test_an_attached_volume_shows_its_server_and_is_not_deleted(
    os_provider: OpenStackProvider, sim: SimulatorProvider
) -> None:
    storage = os_provider.block_storage
    volume = await storage.create_volume(spec())
    await storage.get_volume(volume.id)
    server = await sim.compute.create_server(
        ServerSpec(
            name="vm",
            flavor=FlavorSpec(name="m1.small", vcpus=1, ram_mb=2048, disk_gb=20, id="f-small"),
            image=ImageSpec(id="img-cirros", name="cirros"),
            project_id="p1",
        )
    )
    await sim.compute.get_server(server.id)
    device = await sim.compute.create_volume_attachment(server.id, volume.id)
    attached = await storage.get_volume(volume.id)
    assert attached.status == "in-use"
    assert attached.attachments == (ProviderAttachment(server_id=server.id, device=device),)
    with pytest.raises(ProviderBadRequest, match="Invalid volume: Volume status must be"):
        await storage.delete_volume(volume.id)
    # A snapshot of an in-use volume needs `force`, as in Cinder before 3.66.
    with pytest.raises(ProviderBadRequest, match="status must be available"):
        await storage.create_snapshot(volume.id, "s")
    forced = await storage.create_snapshot(volume.id, "s", force=True)
    assert (await storage.get_snapshot(forced.id)).status == "available"
    assert (await storage.get_volume(volume.id)).status == "in-use"


async def test_deleting_a_missing_volume_or_snapshot_is_not_an_error(
    os_provider: OpenStackProvider,
) -> None:
    await os_provider.block_storage.delete_volume("9d4a3c1e-0000-4000-8000-000000000000")
    await os_provider.block_storage.delete_snapshot("9d4a3c1e-0000-4000-8000-000000000000")
    with pytest.raises(ProviderNotFound, match="Volume nope could not be found"):
        await os_provider.block_storage.get_volume("nope")


async def test_over_quota_is_cinders_413_and_a_forbidden_provider_error(
    os_provider: OpenStackProvider, os_conn: Connection
) -> None:
    storage = os_provider.block_storage
    await storage.create_volume(spec(size_gb=2))
    project = await keystone_project(os_provider, "p1")
    await asyncio.to_thread(
        lambda: os_conn.block_storage.update_quota_set(project, volumes=1, gigabytes=5)
    )
    with pytest.raises(ProviderForbidden) as refused:
        await storage.create_volume(spec(size_gb=1))
    assert refused.value.status_code == 413
    assert refused.value.message == (
        "VolumeLimitExceeded: Maximum number of volumes allowed (1) exceeded for quota 'volumes'."
    )
    await asyncio.to_thread(lambda: os_conn.block_storage.update_quota_set(project, volumes=5))
    with pytest.raises(ProviderForbidden, match="Requested 4G, quota is 5G and 2G has been"):
        await storage.create_volume(spec(size_gb=4))
    [volume] = await storage.volumes()
    with pytest.raises(ProviderForbidden, match="exceeds allowed gigabytes quota"):
        await storage.extend_volume(volume.id, 6)
    assert (await storage.get_volume(volume.id)).size_gb == 2
    # Another project keeps Cinder's defaults.
    assert (await storage.create_volume(spec(size_gb=4, project="p2"))).size_gb == 4
    quota = await asyncio.to_thread(
        lambda: os_conn.block_storage.get_quota_set(project, usage=True)
    )
    assert quota.usage["volumes"] == 1 and quota.usage["gigabytes"] == 2


def _raw(conn: Connection, method: str, path: str, **kwargs: Any) -> requests.Response:
    response: requests.Response = getattr(conn.block_storage, method)(path, **kwargs)
    return response


async def test_another_projects_volume_is_not_found_and_lists_are_per_project(
    os_provider: OpenStackProvider, os_conn: Connection, fake_url: str
) -> None:
    theirs = await os_provider.block_storage.create_volume(spec("theirs"))
    demo = await asyncio.to_thread(
        lambda: openstack.connect(**connect_kwargs(fake_url, username="demo", project="demo"))
    )
    mine = await asyncio.to_thread(lambda: demo.block_storage.create_volume(size=1, name="mine"))
    with pytest.raises(sdk_exc.NotFoundException) as missing:
        await asyncio.to_thread(lambda: demo.block_storage.get_volume(theirs.id))
    assert missing.value.details == f"Volume {theirs.id} could not be found."
    response = await asyncio.to_thread(_raw, demo, "get", f"/volumes/{theirs.id}")
    assert response.status_code == 404
    assert response.json() == {
        "itemNotFound": {"code": 404, "message": f"Volume {theirs.id} could not be found."}
    }
    with pytest.raises(sdk_exc.NotFoundException):
        await asyncio.to_thread(
            lambda: demo.block_storage.delete_volume(theirs.id, ignore_missing=False)
        )
    assert [
        v.name for v in await asyncio.to_thread(lambda: list(demo.block_storage.volumes()))
    ] == ["mine"]
    # An admin lists its own project's volumes unless it asks for all projects.
    own = await asyncio.to_thread(lambda: list(os_conn.block_storage.volumes()))
    every = await asyncio.to_thread(lambda: list(os_conn.block_storage.volumes(all_projects=True)))
    assert own == []
    assert {v.id for v in every} == {theirs.id, mine.id}
    assert (await os_provider.block_storage.get_volume(mine.id)).name == "mine"


async def test_the_wire_shapes_are_cinders(
    os_provider: OpenStackProvider, os_conn: Connection, fake_url: str
) -> None:
    made = await os_provider.block_storage.create_volume(spec("shape", image_id="img-cirros"))
    response = await asyncio.to_thread(
        _raw,
        os_conn,
        "get",
        f"/volumes/{made.id}",
        microversion="3.71",
    )
    assert response.headers["OpenStack-API-Version"] == "volume 3.71"
    volume = response.json()["volume"]
    assert volume["bootable"] == "true" and volume["encrypted"] is False
    assert volume["volume_image_metadata"]["image_id"] == "img-cirros"
    assert volume["availability_zone"] == "nova" and volume["attachments"] == []
    assert volume["os-vol-tenant-attr:tenant_id"] == await keystone_project(os_provider, "p1")
    expected = {
        *("id", "name", "status", "size", "volume_type", "metadata", "links", "description"),
        *("created_at", "updated_at", "user_id", "multiattach", "snapshot_id", "source_volid"),
        *("replication_status", "consistencygroup_id", "migration_status", "group_id"),
        *("provider_id", "shared_targets", "service_uuid", "cluster_name", "consumes_quota"),
        "volume_type_id",
    }
    assert expected - volume.keys() == set()
    refused = await asyncio.to_thread(
        _raw,
        os_conn,
        "post",
        f"/volumes/{made.id}/action",
        json={"os-extend": {"new_size": 1}},
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "badRequest": {
            "code": 400,
            "message": "Invalid input received: New size for extend must be greater than "
            "current size. (current: 1, extended: 1).",
        }
    }
    # Version discovery: the root offers v3 (300), the versioned root the same document.
    root = await asyncio.to_thread(requests.get, f"{fake_url}/volume/", timeout=10)
    assert root.status_code == 300
    [version] = root.json()["versions"]
    assert (version["id"], version["version"], version["min_version"]) == ("v3.0", "3.71", "3.0")
    versioned = await asyncio.to_thread(requests.get, f"{fake_url}/volume/v3/", timeout=10)
    assert versioned.status_code == 200 and versioned.json() == root.json()
    # The project id in the path is accepted too (Cinder before Yoga required it).
    project = await keystone_project(os_provider, "p1")
    listed = await asyncio.to_thread(
        _raw, os_conn, "get", f"/{project}/volumes/detail?all_tenants=1&limit=1"
    )
    assert [v["id"] for v in listed.json()["volumes"]] == [made.id]
    assert listed.json()["volumes_links"][0]["rel"] == "next"
    types = await asyncio.to_thread(lambda: [t.name for t in os_conn.block_storage.types()])
    assert types == sorted(VOLUME_TYPES)
    # No header: 3.0 (no group_id, added in 3.13); past 3.71: 406.
    token = await asyncio.to_thread(lambda: os_conn.auth_token)
    plain = await asyncio.to_thread(
        requests.get,
        f"{fake_url}/volume/v3/volumes/{made.id}",
        headers={"X-Auth-Token": token},
        timeout=10,
    )
    assert plain.headers["OpenStack-API-Version"] == "volume 3.0"
    assert "group_id" not in plain.json()["volume"]
    too_new = await asyncio.to_thread(
        requests.get,
        f"{fake_url}/volume/v3/volumes",
        headers={"X-Auth-Token": token, "OpenStack-API-Version": "volume 3.99"},
        timeout=10,
    )
    assert too_new.status_code == 406
    assert "maximum is 3.71" in too_new.json()["computeFault"]["message"]

"""The fake Glance through openstacksdk: DevStack's images with StackGate's ids, images made
through the API, snapshots private to their server's project."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import pytest
from openstack.connection import Connection

import openstack
from openstack import exceptions as sdk_exc
from stackgate.core.ids import stable_id
from stackgate.providers.base import ProviderNotFound
from stackgate.providers.openstack import OpenStackProvider
from tests.openstack.conftest import connect_kwargs

T = TypeVar("T")
SEEDED = {
    "cirros-0.6": (0, 0),
    "ubuntu-22.04": (3, 512),
    "debian-12": (2, 512),
    "fedora-40": (5, 1024),
}


async def sdk(fn: Callable[[], T]) -> T:
    return await asyncio.to_thread(fn)


async def test_seeded_images(os_conn: Connection) -> None:
    images = await sdk(lambda: {i.name: i for i in os_conn.image.images()})
    assert sorted(images) == sorted(SEEDED)
    for name, (min_disk, min_ram) in SEEDED.items():
        image = images[name]
        assert image.id == stable_id(f"image/{name}")
        assert (image.min_disk, image.min_ram) == (min_disk, min_ram)
        assert (image.status, image.visibility) == ("active", "public")
    assert images["cirros-0.6"].size == 21_430_272
    found = await sdk(lambda: os_conn.image.find_image("debian-12", ignore_missing=False))
    assert found.id == stable_id("image/debian-12")


async def test_filters(os_conn: Connection) -> None:
    named = await sdk(lambda: [i.name for i in os_conn.image.images(name="fedora-40")])
    assert named == ["fedora-40"]
    assert await sdk(lambda: list(os_conn.image.images(status="queued"))) == []
    public = await sdk(lambda: list(os_conn.image.images(visibility="public")))
    assert len(public) == 4
    paged = await sdk(lambda: [i.id for i in os_conn.image.images(limit=1)])
    assert len(paged) == 4 and len(set(paged)) == 4  # the SDK follows `next`


async def test_create_update_delete(os_conn: Connection) -> None:
    image = await sdk(
        lambda: os_conn.image.create_image(
            name="mine", disk_format="raw", container_format="bare", allow_duplicates=True
        )
    )
    assert (image.status, image.visibility) == ("queued", "shared")
    assert image.owner == os_conn.current_project_id
    updated = await sdk(lambda: os_conn.image.update_image(image.id, name="renamed", os_distro="x"))
    assert updated.name == "renamed"
    assert updated.properties.get("os_distro") == "x" or updated.os_distro == "x"
    await sdk(lambda: os_conn.image.delete_image(image.id, ignore_missing=False))
    with pytest.raises(sdk_exc.NotFoundException):
        await sdk(lambda: os_conn.image.get_image(image.id))


async def test_snapshot_is_private_to_its_project(
    fake_url: str, os_conn: Connection, os_provider: OpenStackProvider
) -> None:
    demo = openstack.connect(**connect_kwargs(fake_url, username="demo", project="demo"))
    server = await sdk(
        lambda: demo.compute.create_server(
            name="vm",
            flavor_id=stable_id("flavor/m1.tiny"),
            image_id=stable_id("image/cirros-0.6"),
            networks="none",
        )
    )
    await os_provider.compute.get_server(server.id)
    image_id = await sdk(lambda: demo.compute.create_server_image(server.id, "snap").id)
    got = await sdk(lambda: demo.image.get_image(image_id))
    assert (got.name, got.visibility, got.owner) == ("snap", "private", demo.current_project_id)
    assert got.status == "active"
    assert got.instance_uuid == server.id
    assert got.properties["image_type"] == "snapshot"
    # The admin (StackGate's provider) sees it too, and deletes it.
    assert (await os_provider.image.get_image(image_id)).status == "active"
    await os_provider.image.delete_image(image_id)
    with pytest.raises(ProviderNotFound):
        await os_provider.image.get_image(image_id)
    with pytest.raises(sdk_exc.NotFoundException):
        await sdk(lambda: demo.image.get_image(image_id))


async def test_private_image_of_another_project_is_404(fake_url: str, os_conn: Connection) -> None:
    image = await sdk(
        lambda: os_conn.image.create_image(
            name="admin-only",
            visibility="private",
            allow_duplicates=True,
            disk_format="raw",
            container_format="bare",
        )
    )
    demo = openstack.connect(**connect_kwargs(fake_url, username="demo", project="demo"))
    with pytest.raises(sdk_exc.NotFoundException):
        await sdk(lambda: demo.image.get_image(image.id))
    names = await sdk(lambda: [i.name for i in demo.image.images()])
    assert "admin-only" not in names

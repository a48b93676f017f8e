"""Snapshots (createImage) and the image proxy."""

from __future__ import annotations

import pytest
from sim_builders import FakeClock, server_spec

from stackgate.providers.base import ProviderConflict, ProviderNotFound
from stackgate.providers.simulator import SimulatorProvider


async def test_a_snapshot_becomes_an_active_image(sim: SimulatorProvider) -> None:
    server_id = (await sim.compute.create_server(server_spec())).id
    await sim.compute.get_server(server_id)
    queued = await sim.compute.create_server_image(server_id, "backup-1")
    assert (queued.name, queued.status, queued.size_bytes) == ("backup-1", "queued", None)
    image = await sim.image.get_image(queued.id)
    assert image.status == "active"
    assert image.size_bytes is not None and image.size_bytes > 0
    server = await sim.compute.get_server(server_id)
    assert (server.status, server.task_state) == ("ACTIVE", None)


async def test_snapshot_progress_on_server_and_image(
    timed: SimulatorProvider, clock: FakeClock
) -> None:
    server_id = (await timed.compute.create_server(server_spec())).id
    clock.advance(6)
    image_id = (await timed.compute.create_server_image(server_id, "snap")).id
    seen = []
    for _ in range(4):
        clock.advance(0.75)
        server = await timed.compute.get_server(server_id)
        image = await timed.image.get_image(image_id)
        seen.append((server.status, server.task_state, image.status))
        with pytest.raises(ProviderConflict, match=f"task_state {server.task_state}"):
            await timed.compute.stop_server(server_id)
        clock.advance(0.75)
    assert seen == [
        ("ACTIVE", "image_snapshot_pending", "queued"),
        ("ACTIVE", "image_snapshot", "queued"),
        ("ACTIVE", "image_pending_upload", "saving"),
        ("ACTIVE", "image_uploading", "saving"),
    ]
    clock.advance(0.01)
    # Reading the image alone is enough to finish the snapshot.
    assert (await timed.image.get_image(image_id)).status == "active"
    assert (await timed.compute.get_server(server_id)).task_state is None


async def test_a_failed_snapshot_loses_the_image_not_the_server(sim: SimulatorProvider) -> None:
    server_id = (await sim.compute.create_server(server_spec())).id
    await sim.compute.get_server(server_id)
    sim.fail_next()
    image_id = (await sim.compute.create_server_image(server_id, "snap")).id
    with pytest.raises(ProviderNotFound):
        await sim.image.get_image(image_id)
    server = await sim.compute.get_server(server_id)
    assert (server.status, server.task_state) == ("ACTIVE", None)


async def test_deleting_the_server_mid_snapshot_drops_the_image(
    timed: SimulatorProvider, clock: FakeClock
) -> None:
    server_id = (await timed.compute.create_server(server_spec())).id
    clock.advance(6)
    image_id = (await timed.compute.create_server_image(server_id, "snap")).id
    await timed.compute.delete_server(server_id)
    with pytest.raises(ProviderNotFound):
        await timed.image.get_image(image_id)


async def test_images_outlive_their_server(sim: SimulatorProvider) -> None:
    server_id = (await sim.compute.create_server(server_spec())).id
    await sim.compute.get_server(server_id)
    image_id = (await sim.compute.create_server_image(server_id, "snap")).id
    assert (await sim.image.get_image(image_id)).status == "active"
    await sim.compute.delete_server(server_id)
    await sim.compute.servers()
    assert (await sim.image.get_image(image_id)).status == "active"


async def test_delete_image(sim: SimulatorProvider) -> None:
    server_id = (await sim.compute.create_server(server_spec())).id
    await sim.compute.get_server(server_id)
    image_id = (await sim.compute.create_server_image(server_id, "snap")).id
    await sim.image.delete_image(image_id)
    with pytest.raises(ProviderNotFound) as caught:
        await sim.image.get_image(image_id)
    assert caught.value.status_code == 404
    await sim.image.delete_image(image_id)  # missing: not an error
    assert (await sim.compute.get_server(server_id)).task_state is None

"""Cinder in the simulator: volume and snapshot lifecycles and Cinder's refusals."""

from __future__ import annotations

import pytest
from sim_builders import FakeClock, server_spec, volume_spec

from stackgate.providers.base import ProviderBadRequest, ProviderNotFound
from stackgate.providers.simulator import SimulatorProvider


async def test_a_volume_is_creating_then_available_after_its_duration(
    timed: SimulatorProvider, clock: FakeClock
) -> None:
    created = await timed.block_storage.create_volume(volume_spec(size_gb=2))
    assert (created.status, created.size_gb, created.bootable) == ("creating", 2, False)
    assert created.volume_type == "__DEFAULT__"
    clock.advance(5)
    assert (await timed.block_storage.get_volume(created.id)).status == "creating"
    clock.advance(1)
    assert (await timed.block_storage.get_volume(created.id)).status == "available"


async def test_a_volume_from_an_image_is_bootable_and_keeps_its_type(
    sim: SimulatorProvider,
) -> None:
    created = await sim.block_storage.create_volume(
        volume_spec(image_id="img-cirros", volume_type="lvmdriver-1", description="root")
    )
    volume = await sim.block_storage.get_volume(created.id)
    assert (volume.status, volume.bootable, volume.image_id, volume.volume_type) == (
        "available",
        True,
        "img-cirros",
        "lvmdriver-1",
    )


async def test_a_size_below_one_is_refused(sim: SimulatorProvider) -> None:
    with pytest.raises(ProviderBadRequest, match="must be an integer and greater than 0"):
        await sim.block_storage.create_volume(volume_spec(size_gb=0))
    assert await sim.block_storage.volumes() == []


async def test_a_failed_create_ends_in_error_and_deletes_at_once(sim: SimulatorProvider) -> None:
    sim.fail_next()
    created = await sim.block_storage.create_volume(volume_spec())
    assert (await sim.block_storage.get_volume(created.id)).status == "error"
    await sim.block_storage.delete_volume(created.id)
    with pytest.raises(ProviderNotFound, match=f"Volume {created.id} could not be found."):
        await sim.block_storage.get_volume(created.id)


async def test_volumes_filter_on_every_metadata_item(sim: SimulatorProvider) -> None:
    first = await sim.block_storage.create_volume(
        volume_spec("a", metadata={"stackgate-id": "1", "team": "x"})
    )
    await sim.block_storage.create_volume(volume_spec("b", metadata={"stackgate-id": "2"}))
    found = await sim.block_storage.volumes(metadata={"stackgate-id": "1"})
    assert [v.id for v in found] == [first.id]
    assert found[0].metadata == {"stackgate-id": "1", "team": "x"}
    assert await sim.block_storage.volumes(metadata={"stackgate-id": "1", "team": "y"}) == []
    assert len(await sim.block_storage.volumes()) == 2


async def test_delete_passes_deleting_then_the_volume_is_gone(
    timed: SimulatorProvider, clock: FakeClock
) -> None:
    volume_id = (await timed.block_storage.create_volume(volume_spec())).id
    clock.advance(6)
    await timed.block_storage.delete_volume(volume_id)
    assert (await timed.block_storage.get_volume(volume_id)).status == "deleting"
    await timed.block_storage.delete_volume(volume_id)  # already on its way: no error
    clock.advance(6)
    with pytest.raises(ProviderNotFound):
        await timed.block_storage.get_volume(volume_id)
    await timed.block_storage.delete_volume(volume_id)  # missing is not an error


async def test_delete_refuses_a_creating_volume_in_cinders_words(
    timed: SimulatorProvider,
) -> None:
    volume_id = (await timed.block_storage.create_volume(volume_spec())).id
    with pytest.raises(ProviderBadRequest) as refused:
        await timed.block_storage.delete_volume(volume_id)
    assert refused.value.status_code == 400
    assert refused.value.message.startswith(
        "Invalid volume: Volume status must be available or error or error_restoring"
    )
    assert "attached, belong to a group, have snapshots" in refused.value.message
    assert (await timed.block_storage.get_volume(volume_id)).status == "creating"


async def test_delete_refuses_an_attached_volume(sim: SimulatorProvider) -> None:
    server_id = (await sim.compute.create_server(server_spec())).id
    volume_id = (await sim.block_storage.create_volume(volume_spec())).id
    await sim.block_storage.get_volume(volume_id)
    await sim.compute.create_volume_attachment(server_id, volume_id)
    with pytest.raises(ProviderBadRequest, match="must not be migrating, attached"):
        await sim.block_storage.delete_volume(volume_id)
    assert (await sim.block_storage.get_volume(volume_id)).status == "in-use"


async def test_delete_refuses_a_volume_with_snapshots(sim: SimulatorProvider) -> None:
    volume_id = (await sim.block_storage.create_volume(volume_spec())).id
    await sim.block_storage.get_volume(volume_id)
    snapshot = await sim.block_storage.create_snapshot(volume_id, "snap")
    with pytest.raises(ProviderBadRequest, match="have snapshots"):
        await sim.block_storage.delete_volume(volume_id)
    await sim.block_storage.delete_snapshot(snapshot.id)
    with pytest.raises(ProviderNotFound, match=f"Snapshot {snapshot.id} could not be found."):
        await sim.block_storage.get_snapshot(snapshot.id)
    await sim.block_storage.delete_volume(volume_id)
    assert await sim.block_storage.volumes() == []


async def test_extend_grows_an_available_volume_through_extending(
    timed: SimulatorProvider, clock: FakeClock
) -> None:
    volume_id = (await timed.block_storage.create_volume(volume_spec(size_gb=1))).id
    with pytest.raises(ProviderBadRequest, match="must be available to extend, but current"):
        await timed.block_storage.extend_volume(volume_id, 2)
    clock.advance(6)
    await timed.block_storage.extend_volume(volume_id, 3)
    extending = await timed.block_storage.get_volume(volume_id)
    assert (extending.status, extending.size_gb) == ("extending", 1)
    clock.advance(6)
    done = await timed.block_storage.get_volume(volume_id)
    assert (done.status, done.size_gb) == ("available", 3)


@pytest.mark.parametrize("new_size", [2, 1])
async def test_extend_refuses_a_size_that_does_not_grow(
    sim: SimulatorProvider, new_size: int
) -> None:
    volume_id = (await sim.block_storage.create_volume(volume_spec(size_gb=2))).id
    with pytest.raises(ProviderBadRequest) as refused:
        await sim.block_storage.extend_volume(volume_id, new_size)
    assert refused.value.message == (
        "Invalid input received: New size for extend must be greater than current size. "
        f"(current: 2, extended: {new_size})."
    )
    assert (await sim.block_storage.get_volume(volume_id)).size_gb == 2


async def test_extend_of_a_missing_volume_is_not_found(sim: SimulatorProvider) -> None:
    with pytest.raises(ProviderNotFound):
        await sim.block_storage.extend_volume("nope", 5)


async def test_a_snapshot_is_creating_then_available(
    timed: SimulatorProvider, clock: FakeClock
) -> None:
    volume_id = (await timed.block_storage.create_volume(volume_spec(size_gb=4))).id
    with pytest.raises(ProviderBadRequest, match="status must be available, but current status"):
        await timed.block_storage.create_snapshot(volume_id, "early")
    clock.advance(6)
    snapshot = await timed.block_storage.create_snapshot(
        volume_id, "snap", metadata={"stackgate-id": "s1"}
    )
    assert (snapshot.status, snapshot.size_gb, snapshot.volume_id) == ("creating", 4, volume_id)
    # Deleting a snapshot that is still being made is refused like Cinder does.
    with pytest.raises(ProviderBadRequest, match="Invalid snapshot"):
        await timed.block_storage.delete_snapshot(snapshot.id)
    clock.advance(6)
    assert (await timed.block_storage.get_snapshot(snapshot.id)).status == "available"
    listed = await timed.block_storage.snapshots(metadata={"stackgate-id": "s1"})
    assert [s.id for s in listed] == [snapshot.id]
    assert await timed.block_storage.snapshots(metadata={"stackgate-id": "other"}) == []
    await timed.block_storage.delete_snapshot(snapshot.id)
    assert (await timed.block_storage.get_snapshot(snapshot.id)).status == "deleting"
    clock.advance(6)
    assert await timed.block_storage.snapshots() == []
    await timed.block_storage.delete_snapshot(snapshot.id)  # missing: not an error


async def test_a_failed_snapshot_ends_in_error(sim: SimulatorProvider) -> None:
    volume_id = (await sim.block_storage.create_volume(volume_spec())).id
    await sim.block_storage.get_volume(volume_id)
    sim.fail_next()
    snapshot = await sim.block_storage.create_snapshot(volume_id, "snap")
    assert (await sim.block_storage.get_snapshot(snapshot.id)).status == "error"

"""Block storage's wiring: volume and snapshot routers, handlers, events and tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from stackgate.block_storage.events import derive_snapshot, derive_volume
from stackgate.block_storage.models import Volume, VolumeSnapshot
from stackgate.block_storage.snapshots.handlers import SnapshotOperationHandler
from stackgate.block_storage.volumes.handlers import VolumeOperationHandler
from stackgate.wiring import Feature, HandlerParts
from stackgate.worker.registry import OperationHandler

if TYPE_CHECKING:
    from fastapi import APIRouter


def handlers(parts: HandlerParts) -> Mapping[str, OperationHandler]:
    return {
        "volume": parts.make(VolumeOperationHandler, poll_cap=0.5),
        "volume_snapshot": parts.make(SnapshotOperationHandler, poll_cap=0.5),
    }


def cloud_routers() -> Sequence[APIRouter]:
    from stackgate.block_storage.snapshots.routes import router as snapshots
    from stackgate.block_storage.volumes.routes import router as volumes

    return (volumes, snapshots)


FEATURE = Feature(
    name="block_storage",
    cloud_routers=cloud_routers,
    handlers=handlers,
    events={"volume": derive_volume, "volume_snapshot": derive_snapshot},
    tables=(VolumeSnapshot, Volume),
)

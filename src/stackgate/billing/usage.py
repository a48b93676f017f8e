"""Events -> usage periods (pure code): how long each resource ran, and at which size.

A server is billed from `compute.instance.create.end` until `compute.instance.delete.end`, at
the flavor of the last create/resize; a volume likewise at its size in GB; a floating IP from
`floatingip.create.end` until `floatingip.delete.end`. Events are replayed in time order, so
they may arrive in any order and any number of times: the periods of a resource are always
recomputed from all of its events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

from stackgate.billing.messages import Event

SERVER = "server"
VOLUME = "volume"
FLOATING_IP = "floating_ip"


class Step(IntEnum):
    """Sorted so that events at the same instant apply start, change, end."""

    START = 0
    CHANGE = 1
    END = 2


RATED_EVENTS: dict[str, tuple[str, Step]] = {
    "compute.instance.create.end": (SERVER, Step.START),
    "compute.instance.resize.end": (SERVER, Step.CHANGE),
    "compute.instance.delete.end": (SERVER, Step.END),
    "volume.create.end": (VOLUME, Step.START),
    "volume.resize.end": (VOLUME, Step.CHANGE),
    "volume.delete.end": (VOLUME, Step.END),
    "floatingip.create.end": (FLOATING_IP, Step.START),
    "floatingip.delete.end": (FLOATING_IP, Step.END),
}


def rated(event: Event) -> tuple[str, Step] | None:
    """The resource type and step of an event billing rates; None for every other event."""
    if event.resource_id is None:
        return None
    return RATED_EVENTS.get(event.event_type)


@dataclass(frozen=True, slots=True)
class Size:
    """What a resource's price depends on."""

    flavor_name: str | None = None
    vcpus: int | None = None
    size_gb: int | None = None


@dataclass(frozen=True, slots=True)
class Period:
    resource_type: str
    resource_id: str
    project_id: str | None
    started_at: datetime
    ended_at: datetime | None  # None: still running
    size: Size


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _size(resource_type: str, payload: dict[str, Any]) -> Size:
    if resource_type == SERVER:
        name = payload.get("flavor_name")
        return Size(
            flavor_name=name if isinstance(name, str) else None, vcpus=_int(payload.get("vcpus"))
        )
    if resource_type == VOLUME:
        return Size(size_gb=_int(payload.get("size_gb")))
    return Size()


def derive_periods(events: Iterable[Event]) -> list[Period]:
    """The usage periods of ONE resource from all of its events (any order, duplicates ok)."""
    steps = [(event, step) for event in events if (kind := rated(event)) for step in (kind[1],)]
    steps.sort(key=lambda item: (item[0].occurred_at, item[1], item[0].event_id))
    periods: list[Period] = []
    open_period: Period | None = None
    deleted = False
    for event, step in steps:
        resource_type = RATED_EVENTS[event.event_type][0]
        at = event.occurred_at
        if deleted:
            break  # nothing comes back after its delete.end
        if step is Step.END:
            if open_period is not None:
                periods.append(_closed(open_period, at))
                open_period = None
            deleted = True
            continue
        size = _size(resource_type, event.payload)
        if open_period is not None:
            if open_period.size == size:
                continue  # a duplicate create, or a resize to the same size
            periods.append(_closed(open_period, at))
        assert event.resource_id is not None
        open_period = Period(
            resource_type=resource_type,
            resource_id=event.resource_id,
            project_id=event.project_id,
            started_at=at,
            ended_at=None,
            size=size,
        )
    if open_period is not None:
        periods.append(open_period)
    return [p for p in periods if p.ended_at is None or p.ended_at > p.started_at]


def _closed(period: Period, at: datetime) -> Period:
    return Period(
        resource_type=period.resource_type,
        resource_id=period.resource_id,
        project_id=period.project_id,
        started_at=period.started_at,
        ended_at=at,
        size=period.size,
    )

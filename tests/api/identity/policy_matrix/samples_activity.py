"""Sample requests for the activity routes: operations and the live event streams (bounded
with `timeout_seconds`, so each answer ends)."""

from __future__ import annotations

from sqlalchemy import select
from tests.api.identity.personas import Persona
from tests.api.identity.policy_matrix.world import Call, World, sample

from stackgate.core.operations import Operation


async def _server_operation(w: World) -> str:
    """The create operation of P's shared server."""
    async with w.container.sessionmaker() as session:
        found = await session.scalar(
            select(Operation.id).where(Operation.resource_id == w.server_id).limit(1)
        )
    assert found is not None
    return found


@sample("GET", "/api/v1/operations")
async def _list_operations(w: World, who: Persona) -> Call:
    return Call("/api/v1/operations")


@sample("GET", "/api/v1/operations/{op_id}")
async def _get_operation(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/operations/{await _server_operation(w)}")


@sample("GET", "/api/v1/operations/{op_id}/events")
async def _follow_operation(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/operations/{await _server_operation(w)}/events?timeout_seconds=0.05")


@sample("GET", "/api/v1/events")
async def _watch_events(w: World, who: Persona) -> Call:
    return Call("/api/v1/events?timeout_seconds=0.05")

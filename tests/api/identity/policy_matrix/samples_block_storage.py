"""Sample requests for the block storage routes: volume types, volumes and volume snapshots."""

from __future__ import annotations

from tests.api.identity.personas import Persona, unique
from tests.api.identity.policy_matrix.world import Call, World, sample


async def _volume_snapshot(w: World) -> str:
    """A throwaway available snapshot of a throwaway volume of P."""
    body = {"volume_id": await w.volume()}
    response = await w.p.member.http.post("/api/v1/volume-snapshots", json=body)
    assert response.status_code == 202, response.text
    await w.container.runner.drain()
    return str(response.json()["id"])


@sample("GET", "/api/v1/volume-types")
async def _list_volume_types(w: World, who: Persona) -> Call:
    return Call("/api/v1/volume-types")


@sample("GET", "/api/v1/volumes")
async def _list_volumes(w: World, who: Persona) -> Call:
    return Call("/api/v1/volumes")


@sample("POST", "/api/v1/volumes")
async def _create_volume(w: World, who: Persona) -> Call:
    await w.cast.set_quotas(w.p.project_id, volumes=-1, snapshots=-1, gigabytes=-1)
    return Call("/api/v1/volumes", json={"size": 1, "name": unique("vol")})


@sample("GET", "/api/v1/volumes/{volume_id}")
async def _get_volume(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/volumes/{await w.volume()}")


@sample("PATCH", "/api/v1/volumes/{volume_id}")
async def _update_volume(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/volumes/{await w.volume()}", json={"description": who.label})


@sample("DELETE", "/api/v1/volumes/{volume_id}")
async def _delete_volume(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/volumes/{await w.volume()}")


@sample("POST", "/api/v1/volumes/{volume_id}/actions/extend")
async def _extend_volume(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/volumes/{await w.volume()}/actions/extend", json={"new_size": 2})


@sample("GET", "/api/v1/volume-snapshots")
async def _list_volume_snapshots(w: World, who: Persona) -> Call:
    return Call("/api/v1/volume-snapshots")


@sample("POST", "/api/v1/volume-snapshots")
async def _create_volume_snapshot(w: World, who: Persona) -> Call:
    return Call("/api/v1/volume-snapshots", json={"volume_id": await w.volume()})


@sample("GET", "/api/v1/volume-snapshots/{snapshot_id}")
async def _get_volume_snapshot(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/volume-snapshots/{await _volume_snapshot(w)}")


@sample("DELETE", "/api/v1/volume-snapshots/{snapshot_id}")
async def _delete_volume_snapshot(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/volume-snapshots/{await _volume_snapshot(w)}")

"""Sample requests for the server routes: servers, their actions, snapshots, security groups and
attached volumes."""

from __future__ import annotations

from tests.api.identity.personas import Persona, unique
from tests.api.identity.policy_matrix.world import Call, World, sample


@sample("GET", "/api/v1/vms")
async def _list_servers(w: World, who: Persona) -> Call:
    return Call("/api/v1/vms")


@sample("POST", "/api/v1/vms")
async def _create_server(w: World, who: Persona) -> Call:
    return Call(
        "/api/v1/vms", json={"name": unique("vm"), "flavor": "m1.tiny", "image": "cirros-0.6"}
    )


@sample("GET", "/api/v1/vms/{server_id}")
async def _get_server(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/vms/{w.server_id}")


@sample("PATCH", "/api/v1/vms/{server_id}")
async def _update_server(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/vms/{w.server_id}", json={"description": f"by {who.label}"})


@sample("DELETE", "/api/v1/vms/{server_id}")
async def _delete_server(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/vms/{await w.server()}")


@sample("POST", "/api/v1/vms/{server_id}/actions/{action}")
async def _server_action(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/vms/{await w.server()}/actions/lock")


@sample("GET", "/api/v1/vms/{server_id}/actions")
async def _server_actions(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/vms/{w.server_id}/actions")


@sample("POST", "/api/v1/vms/{server_id}/snapshots")
async def _snapshot(w: World, who: Persona) -> Call:
    server_id = await w.server(active=True)
    return Call(f"/api/v1/vms/{server_id}/snapshots", json={"name": unique("snap")})


@sample("GET", "/api/v1/vms/{server_id}/snapshots")
async def _snapshots(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/vms/{w.server_id}/snapshots")


@sample("POST", "/api/v1/vms/{server_id}/actions/add-security-group")
async def _add_server_group(w: World, who: Persona) -> Call:
    group_id = await w.security_group()
    return Call(
        f"/api/v1/vms/{await w.server()}/actions/add-security-group", json={"name": group_id}
    )


@sample("POST", "/api/v1/vms/{server_id}/actions/remove-security-group")
async def _remove_server_group(w: World, who: Persona) -> Call:
    return Call(
        f"/api/v1/vms/{await w.server()}/actions/remove-security-group", json={"name": "default"}
    )


@sample("POST", "/api/v1/vms/{server_id}/volumes")
async def _attach_volume(w: World, who: Persona) -> Call:
    server_id = await w.server(active=True)
    return Call(f"/api/v1/vms/{server_id}/volumes", json={"volume_id": await w.volume()})


@sample("GET", "/api/v1/vms/{server_id}/volumes")
async def _list_attachments(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/vms/{w.server_id}/volumes")


@sample("DELETE", "/api/v1/vms/{server_id}/volumes/{volume_id}")
async def _detach_volume(w: World, who: Persona) -> Call:
    server_id = await w.server(active=True)
    volume_id = await w.volume()
    response = await w.p.member.http.post(
        f"/api/v1/vms/{server_id}/volumes", json={"volume_id": volume_id}
    )
    assert response.status_code == 202, response.text
    await w.container.runner.drain()
    return Call(f"/api/v1/vms/{server_id}/volumes/{volume_id}")

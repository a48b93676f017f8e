"""Servers and volumes: boot from volume, data volumes at create, attach and detach
(POST/GET/DELETE /api/v1/vms/{id}/volumes) with Nova's rules, and what a delete leaves."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.builders import act, create_server, settle

from stackgate.bootstrap import Container
from stackgate.core.tags import metadata_for


async def volume(client: httpx.AsyncClient, container: Container, size: int = 1) -> str:
    response = await client.post("/api/v1/volumes", json={"size": size, "name": "data"})
    assert response.status_code == 202, response.text
    await container.runner.drain()
    return str(response.json()["id"])


async def volume_body(client: httpx.AsyncClient, volume_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/volumes/{volume_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def built(client: httpx.AsyncClient, container: Container, **fields: Any) -> dict[str, Any]:
    server = await create_server(client, flavor="m1.tiny", **fields)
    for _ in range(50):
        body = await settle(client, container, server["id"])
        if body["task_state"] is None:
            return body
    raise AssertionError(f"server did not settle: {body}")


async def attach(client: httpx.AsyncClient, server_id: str, volume_id: str) -> httpx.Response:
    return await client.post(f"/api/v1/vms/{server_id}/volumes", json={"volume_id": volume_id})


class TestBootFromVolume:
    async def test_the_root_volume_is_attached_as_vda(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await built(client, container, boot_volume={"size": 2})
        assert server["status"] == "ACTIVE", server
        (root,) = server["volumes_attached"]
        assert root["device"] == "/dev/vda" and root["delete_on_termination"] is True
        body = await volume_body(client, root["id"])
        assert (body["status"], body["size"], body["bootable"]) == ("in-use", 2, True)

    async def test_a_root_volume_smaller_than_the_image_is_refused(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        response = await client.post(
            "/api/v1/vms",
            json={
                "name": "vm",
                "flavor": "m1.tiny",
                "image": "ubuntu-22.04",
                "boot_volume": {"size": 1},
            },
        )
        assert response.status_code in (400, 422), response.text
        assert (await client.get("/api/v1/vms")).json()["items"] == []

    async def test_delete_removes_the_root_volume(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await built(client, container, boot_volume={"size": 1})
        (root,) = server["volumes_attached"]
        assert (await client.delete(f"/api/v1/vms/{server['id']}")).status_code == 202
        await settle(client, container, server["id"])
        await container.runner.drain()
        assert (await client.get(f"/api/v1/volumes/{root['id']}")).status_code == 404

    async def test_delete_keeps_a_root_volume_not_deleted_on_termination(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await built(
            client, container, boot_volume={"size": 1, "delete_on_termination": False}
        )
        (root,) = server["volumes_attached"]
        assert root["delete_on_termination"] is False
        assert (await client.delete(f"/api/v1/vms/{server['id']}")).status_code == 202
        await settle(client, container, server["id"])
        body = await volume_body(client, root["id"])
        assert (body["status"], body["bootable"]) == ("available", True)

    async def test_a_build_cancelled_by_delete_takes_its_root_volume(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await create_server(
            client, flavor="m1.tiny", boot_volume={"size": 1, "delete_on_termination": False}
        )
        (root,) = server["volumes_attached"]
        assert (await client.delete(f"/api/v1/vms/{server['id']}")).status_code == 202
        for _ in range(20):
            await container.runner.drain()
        assert (await client.get(f"/api/v1/volumes/{root['id']}")).status_code == 404
        assert (
            await container.provider.block_storage.volumes(metadata=metadata_for(root["id"])) == []
        )
        listed = (await client.get("/api/v1/volumes")).json()
        assert listed["total"] == 0


class TestDataVolumesAtCreate:
    async def test_volumes_are_reserved_at_once_and_attached_in_order(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        first, second = await volume(client, container), await volume(client, container)
        accepted = await create_server(client, volumes=[first, second])
        assert (await volume_body(client, first))["status"] == "reserved"
        body = await settle(client, container, accepted["id"])
        for _ in range(20):
            if body["task_state"] is None:
                break
            body = await settle(client, container, accepted["id"])
        assert body["status"] == "ACTIVE", body
        devices = sorted(v["device"] for v in body["volumes_attached"])
        assert devices == ["/dev/vdb", "/dev/vdc"]
        for volume_id in (first, second):
            assert (await volume_body(client, volume_id))["status"] == "in-use"

    async def test_a_volume_in_use_is_refused_and_nothing_is_made(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        data = await volume(client, container)
        await built(client, container, volumes=[data])
        response = await client.post(
            "/api/v1/vms",
            json={"name": "second", "flavor": "m1.tiny", "image": "cirros-0.6", "volumes": [data]},
        )
        assert response.status_code == 409, response.text
        assert len((await client.get("/api/v1/vms")).json()["items"]) == 1

    async def test_an_unknown_volume_names_the_field(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        response = await client.post(
            "/api/v1/vms",
            json={"name": "vm", "flavor": "m1.tiny", "image": "cirros-0.6", "volumes": ["nope"]},
        )
        assert response.status_code in (400, 404, 422), response.text
        assert response.json().get("field") == "volumes"
        assert (await client.get("/api/v1/vms")).json()["items"] == []

    async def test_delete_makes_data_volumes_available(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        data = await volume(client, container)
        server = await built(client, container, volumes=[data])
        assert (await client.delete(f"/api/v1/vms/{server['id']}")).status_code == 202
        await settle(client, container, server["id"])
        body = await volume_body(client, data)
        assert body["status"] == "available"


class TestAttach:
    async def test_attach_reserves_then_attaches_as_vdb(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await built(client, container)
        data = await volume(client, container)
        response = await attach(client, server["id"], data)
        assert response.status_code == 202, response.text
        assert response.json()["device"] == "/dev/vdb"
        assert response.json()["status"] == "reserved"
        body = await settle(client, container, server["id"])
        assert body["volumes_attached"] == [
            {"id": data, "device": "/dev/vdb", "delete_on_termination": False}
        ]
        assert (await volume_body(client, data))["status"] == "in-use"
        listed = (await client.get(f"/api/v1/vms/{server['id']}/volumes")).json()["items"]
        assert [(a["volume_id"], a["status"]) for a in listed] == [(data, "in-use")]
        actions = (await client.get(f"/api/v1/vms/{server['id']}/actions")).json()["items"]
        assert actions[0]["action"] == "attach_volume" and actions[0]["result"] == "Success"

    @pytest.mark.parametrize("status", ["SHUTOFF", "PAUSED", "SHELVED_OFFLOADED"])
    async def test_attach_in_the_states_nova_allows(
        self, client: httpx.AsyncClient, container: Container, status: str
    ) -> None:
        server = await built(client, container)
        action = {"SHUTOFF": "stop", "PAUSED": "pause", "SHELVED_OFFLOADED": "shelve"}[status]
        assert (await act(client, server["id"], action)).status_code == 202
        assert (await settle(client, container, server["id"]))["status"] == status
        data = await volume(client, container)
        assert (await attach(client, server["id"], data)).status_code == 202

    async def test_attach_to_a_suspended_server_is_refused(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await built(client, container)
        assert (await act(client, server["id"], "suspend")).status_code == 202
        await settle(client, container, server["id"])
        data = await volume(client, container)
        response = await attach(client, server["id"], data)
        assert response.status_code == 409, response.text
        assert (await volume_body(client, data))["status"] == "available"

    async def test_attach_while_building_is_refused(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        data = await volume(client, container)
        server = await create_server(client)
        assert (await attach(client, server["id"], data)).status_code == 409

    async def test_a_volume_in_use_is_refused(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        data = await volume(client, container)
        await built(client, container, volumes=[data])
        other = await built(client, container)
        response = await attach(client, other["id"], data)
        assert response.status_code == 409, response.text

    async def test_another_projects_server_is_not_found(
        self,
        client: httpx.AsyncClient,
        admin_client: httpx.AsyncClient,
        container: Container,
    ) -> None:
        server = await built(admin_client, container)
        data = await volume(client, container)
        assert (await attach(client, server["id"], data)).status_code == 404


class TestDetach:
    async def test_detach_makes_the_volume_available(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        data = await volume(client, container)
        server = await built(client, container, volumes=[data])
        response = await client.delete(f"/api/v1/vms/{server['id']}/volumes/{data}")
        assert response.status_code == 202, response.text
        assert (await volume_body(client, data))["status"] == "detaching"
        body = await settle(client, container, server["id"])
        assert body["volumes_attached"] == []
        volume_now = await volume_body(client, data)
        assert volume_now["status"] == "available"
        actions = (await client.get(f"/api/v1/vms/{server['id']}/actions")).json()["items"]
        assert actions[0]["action"] == "detach_volume" and actions[0]["result"] == "Success"

    async def test_the_root_volume_cannot_be_detached(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await built(client, container, boot_volume={"size": 1})
        (root,) = server["volumes_attached"]
        response = await client.delete(f"/api/v1/vms/{server['id']}/volumes/{root['id']}")
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "root_volume"

    async def test_a_volume_not_attached_here_is_not_found(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await built(client, container)
        data = await volume(client, container)
        response = await client.delete(f"/api/v1/vms/{server['id']}/volumes/{data}")
        assert response.status_code == 404, response.text


class TestSnapshotOfAttachedVolume:
    async def test_force_snapshots_an_in_use_volume_in_the_cloud(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await built(client, container)
        volume_id = await volume(client, container)
        assert (await attach(client, server["id"], volume_id)).status_code == 202
        await container.runner.drain()
        assert (await volume_body(client, volume_id))["status"] == "in-use"
        refused = await client.post("/api/v1/volume-snapshots", json={"volume_id": volume_id})
        assert refused.status_code == 409, refused.text
        forced = await client.post(
            "/api/v1/volume-snapshots", json={"volume_id": volume_id, "force": True}
        )
        assert forced.status_code == 202, forced.text
        await container.runner.drain()
        snapshot = await client.get(f"/api/v1/volume-snapshots/{forced.json()['id']}")
        assert snapshot.json()["status"] == "available", snapshot.text

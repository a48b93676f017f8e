"""Floating IPs: /api/v1/floating-ips, allocate from `public`, associate with a server's port,
disassociate, release."""

from __future__ import annotations

import ipaddress
from typing import Any

import httpx
from tests.api.network_builders import get, network_with_subnet, settle
from tests.builders import create_server
from tests.conftest import set_quotas

from stackgate.bootstrap import Container
from stackgate.core.context import DEFAULT_PROJECT_ID
from stackgate.network.seed import PUBLIC_NETWORK_ID


async def allocate(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/floating-ips", json=fields)
    assert response.status_code == 202, response.text
    return dict(response.json())


async def running_server(client: httpx.AsyncClient, container: Container) -> dict[str, Any]:
    server = await create_server(client)
    await settle(container)
    body = await get(client, f"/api/v1/vms/{server['id']}")
    assert body["status"] == "ACTIVE", body
    return body


class TestAllocate:
    async def test_from_public_down(self, client: httpx.AsyncClient, container: Container) -> None:
        response = await client.post("/api/v1/floating-ips", json={})
        assert response.status_code == 202, response.text
        fip = response.json()
        assert response.headers["location"] == f"/api/v1/floating-ips/{fip['id']}"
        assert fip["floating_network_id"] == PUBLIC_NETWORK_ID
        address = ipaddress.ip_address(fip["floating_ip_address"])
        assert address in ipaddress.ip_network("172.24.4.0/24")
        assert str(address) not in ("172.24.4.0", "172.24.4.1", "172.24.4.255")
        assert fip["status"] == "DOWN" and fip["port_id"] is None
        await settle(container)
        settled = await get(client, f"/api/v1/floating-ips/{fip['id']}")
        assert settled["status"] == "DOWN" and settled["error_message"] is None
        cloud = await container.provider.network.ips(tags=(f"stackgate-id={fip['id']}",))
        assert cloud[0].floating_ip_address == fip["floating_ip_address"]
        named = await allocate(client, network="public", description="d")
        assert named["floating_ip_address"] != fip["floating_ip_address"]

    async def test_non_external_or_unknown_network(self, client: httpx.AsyncClient) -> None:
        network, _ = await network_with_subnet(client)
        response = await client.post("/api/v1/floating-ips", json={"network": network["id"]})
        assert response.status_code == 422
        assert response.json()["code"] == "network_not_external"
        response = await client.post("/api/v1/floating-ips", json={"network": "nowhere"})
        assert response.status_code == 400
        assert (await get(client, "/api/v1/floating-ips"))["total"] == 0

    async def test_exhausted_pool_is_409(
        self, client: httpx.AsyncClient, admin_client: httpx.AsyncClient
    ) -> None:
        ext = await admin_client.post(
            "/api/v1/networks", json={"name": "tiny-ext", "external": True}
        )
        response = await admin_client.post(
            "/api/v1/subnets", json={"network_id": ext.json()["id"], "cidr": "198.51.100.0/30"}
        )
        assert response.status_code == 202, response.text
        await allocate(admin_client, network=ext.json()["id"])
        response = await admin_client.post(
            "/api/v1/floating-ips", json={"network": ext.json()["id"]}
        )
        assert response.status_code == 409
        assert response.json()["code"] == "ip_exhausted"

    async def test_quota(self, client: httpx.AsyncClient, container: Container) -> None:
        await set_quotas(container, DEFAULT_PROJECT_ID, floating_ips=1)
        await allocate(client)
        response = await client.post("/api/v1/floating-ips", json={})
        assert response.status_code == 403
        assert response.json()["code"] == "quota_exceeded"


class TestAssociate:
    async def test_associate_then_disassociate(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await running_server(client, container)
        fip = await allocate(client)
        response = await client.post(
            f"/api/v1/floating-ips/{fip['id']}/actions/associate", json={"vm_id": server["id"]}
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["server_id"] == server["id"] and body["port_id"]
        assert body["status"] == "DOWN"  # until the worker has wired it
        await settle(container)
        body = await get(client, f"/api/v1/floating-ips/{fip['id']}")
        assert body["status"] == "ACTIVE"
        port = await get(client, f"/api/v1/ports/{body['port_id']}")
        assert body["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
        cloud = await container.provider.network.ips(tags=(f"stackgate-id={fip['id']}",))
        assert cloud[0].fixed_ip_address == body["fixed_ip_address"]
        assert (await get(client, "/api/v1/floating-ips?status=ACTIVE"))["total"] == 1
        response = await client.post(f"/api/v1/floating-ips/{fip['id']}/actions/disassociate")
        assert response.status_code == 202
        assert response.json()["status"] == "DOWN" and response.json()["port_id"] is None
        await settle(container)
        cloud = await container.provider.network.ips(tags=(f"stackgate-id={fip['id']}",))
        assert cloud[0].port_id is None

    async def test_one_floating_ip_per_fixed_ip(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await running_server(client, container)
        first, second = await allocate(client), await allocate(client)
        path = "/api/v1/floating-ips/{}/actions/associate"
        ok = await client.post(path.format(first["id"]), json={"vm_id": server["id"]})
        assert ok.status_code == 202
        clash = await client.post(path.format(second["id"]), json={"vm_id": server["id"]})
        assert clash.status_code == 409
        assert clash.json()["code"] == "floating_ip_port_associated"

    async def test_wrong_port_unknown_server_and_portless_server(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await running_server(client, container)
        fip = await allocate(client)
        network, _ = await network_with_subnet(client)
        loose = await client.post("/api/v1/ports", json={"network_id": network["id"]})
        path = f"/api/v1/floating-ips/{fip['id']}/actions/associate"
        response = await client.post(
            path, json={"vm_id": server["id"], "port_id": loose.json()["id"]}
        )
        assert response.status_code == 422
        response = await client.post(path, json={"vm_id": "no-such-server"})
        assert response.status_code == 400
        assert (await get(client, f"/api/v1/floating-ips/{fip['id']}"))["port_id"] is None

    async def test_release_an_associated_one(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await running_server(client, container)
        fip = await allocate(client)
        await client.post(
            f"/api/v1/floating-ips/{fip['id']}/actions/associate", json={"vm_id": server["id"]}
        )
        await settle(container)
        response = await client.delete(f"/api/v1/floating-ips/{fip['id']}")
        assert response.status_code == 202
        await settle(container)
        assert (await client.get(f"/api/v1/floating-ips/{fip['id']}")).status_code == 404
        assert not await container.provider.network.ips(tags=(f"stackgate-id={fip['id']}",))
        # The address is back in the pool (the quota usage too).
        assert (await get(client, "/api/v1/floating-ips"))["total"] == 0

    async def test_deleting_the_server_disassociates(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await running_server(client, container)
        fip = await allocate(client)
        await client.post(
            f"/api/v1/floating-ips/{fip['id']}/actions/associate", json={"vm_id": server["id"]}
        )
        await settle(container)
        assert (await client.delete(f"/api/v1/vms/{server['id']}")).status_code == 202
        await settle(container)
        body = await get(client, f"/api/v1/floating-ips/{fip['id']}")
        assert body["port_id"] is None and body["status"] == "DOWN"
        assert (await get(client, f"/api/v1/ports?device_id={server['id']}"))["total"] == 0


class TestTenancy:
    async def test_another_projects_floating_ip_is_not_found(
        self, client: httpx.AsyncClient, admin_client: httpx.AsyncClient
    ) -> None:
        theirs = await allocate(admin_client)
        for method, path in (
            ("GET", ""),
            ("DELETE", ""),
            ("POST", "/actions/disassociate"),
        ):
            response = await client.request(method, f"/api/v1/floating-ips/{theirs['id']}{path}")
            assert response.status_code == 404, (method, path, response.text)
        assert (await get(client, "/api/v1/floating-ips"))["total"] == 0

    async def test_cannot_point_at_another_projects_server(
        self, client: httpx.AsyncClient, admin_client: httpx.AsyncClient, container: Container
    ) -> None:
        theirs = await running_server(admin_client, container)
        fip = await allocate(client)
        response = await client.post(
            f"/api/v1/floating-ips/{fip['id']}/actions/associate", json={"vm_id": theirs["id"]}
        )
        assert response.status_code == 400

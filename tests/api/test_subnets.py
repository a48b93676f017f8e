"""Subnets: /api/v1/subnets with Neutron's defaults and checks."""

from __future__ import annotations

from typing import Any

import httpx
from tests.api.network_builders import (
    create_network,
    create_port,
    create_subnet,
    get,
    network_with_subnet,
    settle,
)
from tests.conftest import set_quotas

from stackgate.bootstrap import Container
from stackgate.core.context import DEFAULT_PROJECT_ID
from stackgate.network.seed import PUBLIC_SUBNET_ID


class TestCreate:
    async def test_defaults_gateway_first_pool_the_rest(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        network = await create_network(client)
        response = await client.post(
            "/api/v1/subnets", json={"network_id": network["id"], "cidr": "192.168.5.0/24"}
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert response.headers["location"] == f"/api/v1/subnets/{body['id']}"
        assert body["gateway_ip"] == "192.168.5.1"
        assert body["allocation_pools"] == [{"start": "192.168.5.2", "end": "192.168.5.254"}]
        assert body["enable_dhcp"] is True and body["ip_version"] == 4
        assert body["status"] == "BUILD"
        await settle(container)
        assert (await get(client, f"/api/v1/subnets/{body['id']}"))["status"] == "ACTIVE"
        cloud = await container.provider.network.subnets(tags=(f"stackgate-id={body['id']}",))
        assert cloud[0].allocation_pools == (("192.168.5.2", "192.168.5.254"),)

    async def test_explicit_gateway_and_pool(self, client: httpx.AsyncClient) -> None:
        network = await create_network(client)
        body = await create_subnet(
            client,
            network["id"],
            "10.9.0.0/24",
            gateway_ip="10.9.0.254",
            allocation_pool={"start": "10.9.0.10", "end": "10.9.0.20"},
            enable_dhcp=False,
        )
        assert body["gateway_ip"] == "10.9.0.254"
        assert body["allocation_pools"] == [{"start": "10.9.0.10", "end": "10.9.0.20"}]
        no_gateway = await create_subnet(client, network["id"], "10.8.0.0/30", gateway_ip=None)
        assert no_gateway["gateway_ip"] is None
        assert no_gateway["allocation_pools"] == [{"start": "10.8.0.1", "end": "10.8.0.2"}]

    async def test_invalid_addressing_is_422_and_changes_nothing(
        self, client: httpx.AsyncClient
    ) -> None:
        network = await create_network(client)
        nid = network["id"]
        cases: list[dict[str, Any]] = [
            {"cidr": "not-a-cidr"},
            {"cidr": "10.0.0.5/24"},
            {"cidr": "10.0.0.0/33"},
            {"cidr": "10.1.0.0/24", "gateway_ip": "10.2.0.1"},
            {"cidr": "10.1.0.0/24", "gateway_ip": "10.1.0.255"},
            {"cidr": "10.1.0.0/24", "allocation_pool": {"start": "10.1.0.20", "end": "10.1.0.10"}},
            {"cidr": "10.1.0.0/24", "allocation_pool": {"start": "10.1.0.0", "end": "10.1.0.10"}},
            {"cidr": "10.1.0.0/24", "allocation_pool": {"start": "10.1.0.1", "end": "10.1.0.10"}},
            {"cidr": "10.1.0.0/24", "allocation_pool": {"start": "10.1.0.9", "end": "10.2.0.1"}},
        ]
        for case in cases:
            response = await client.post("/api/v1/subnets", json={"network_id": nid, **case})
            assert response.status_code == 422, (case, response.text)
            assert response.json()["code"] in ("invalid_subnet", "validation_error")
        listed = await get(client, f"/api/v1/subnets?network_id={nid}")
        assert listed["total"] == 0

    async def test_overlap_on_the_same_network_is_409(self, client: httpx.AsyncClient) -> None:
        network, _ = await network_with_subnet(client, "10.20.0.0/16")
        response = await client.post(
            "/api/v1/subnets", json={"network_id": network["id"], "cidr": "10.20.5.0/24"}
        )
        assert response.status_code == 409
        assert response.json()["code"] == "subnet_overlap"
        other = await create_network(client, name="other")
        await create_subnet(client, other["id"], "10.20.5.0/24")  # another network: fine

    async def test_unknown_or_foreign_network(
        self, client: httpx.AsyncClient, admin_client: httpx.AsyncClient
    ) -> None:
        theirs = (await admin_client.post("/api/v1/networks", json={"name": "a"})).json()
        for nid in ("nope", theirs["id"]):
            response = await client.post(
                "/api/v1/subnets", json={"network_id": nid, "cidr": "10.3.0.0/24"}
            )
            assert response.status_code == 404, response.text

    async def test_quota(self, client: httpx.AsyncClient, container: Container) -> None:
        await set_quotas(container, DEFAULT_PROJECT_ID, subnets=1)
        network, _ = await network_with_subnet(client)
        response = await client.post(
            "/api/v1/subnets", json={"network_id": network["id"], "cidr": "10.4.0.0/24"}
        )
        assert response.status_code == 403
        assert response.json()["code"] == "quota_exceeded"


class TestReadUpdateDelete:
    async def test_list_get_rename(self, client: httpx.AsyncClient) -> None:
        network, subnet = await network_with_subnet(client)
        listed = await get(client, f"/api/v1/subnets?network_id={network['id']}")
        assert [s["id"] for s in listed["items"]] == [subnet["id"]]
        public = await get(client, f"/api/v1/subnets/{PUBLIC_SUBNET_ID}")
        assert public["cidr"] == "172.24.4.0/24"
        response = await client.patch(f"/api/v1/subnets/{subnet['id']}", json={"name": "s2"})
        assert response.status_code == 200 and response.json()["name"] == "s2"

    async def test_delete_frees_the_row_and_refuses_while_in_use(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        network, subnet = await network_with_subnet(client)
        port = await create_port(client, network["id"])
        response = await client.delete(f"/api/v1/subnets/{subnet['id']}")
        assert response.status_code == 409
        assert response.json()["code"] == "subnet_in_use"
        await settle(container)
        assert (await client.delete(f"/api/v1/ports/{port['id']}")).status_code == 202
        await settle(container)
        response = await client.delete(f"/api/v1/subnets/{subnet['id']}")
        assert response.status_code == 202, response.text
        await settle(container)
        assert (await client.get(f"/api/v1/subnets/{subnet['id']}")).status_code == 404
        assert not await container.provider.network.subnets(tags=(f"stackgate-id={subnet['id']}",))

    async def test_public_subnet_is_not_the_members(self, client: httpx.AsyncClient) -> None:
        response = await client.delete(f"/api/v1/subnets/{PUBLIC_SUBNET_ID}")
        assert response.status_code == 403


class TestNetworkByName:
    async def test_a_subnet_a_port_and_a_path_take_the_networks_name(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        network = await create_network(client, name="by-name-net")
        subnet = await client.post(
            "/api/v1/subnets", json={"network_id": "by-name-net", "cidr": "192.168.9.0/24"}
        )
        assert subnet.status_code == 202, subnet.text
        assert subnet.json()["network_id"] == network["id"]
        await settle(container)
        port = await client.post("/api/v1/ports", json={"network_id": "by-name-net"})
        assert port.status_code == 202, port.text
        assert port.json()["network_id"] == network["id"]
        assert (await get(client, "/api/v1/networks/by-name-net"))["id"] == network["id"]

    async def test_a_name_two_networks_share_must_be_the_id(
        self, client: httpx.AsyncClient
    ) -> None:
        for _ in range(2):
            await create_network(client, name="twin-net")
        refused = await client.post(
            "/api/v1/subnets", json={"network_id": "twin-net", "cidr": "192.168.10.0/24"}
        )
        assert refused.status_code == 400
        assert refused.json()["code"] == "ambiguous_reference"
        missing = await client.post(
            "/api/v1/subnets", json={"network_id": "no-such-net", "cidr": "192.168.11.0/24"}
        )
        assert missing.status_code == 404

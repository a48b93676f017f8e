"""Ports: /api/v1/ports, address allocation (never twice, even under concurrency)."""

from __future__ import annotations

import asyncio
import ipaddress

import httpx
import pytest
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
from stackgate.network.seed import PUBLIC_NETWORK_ID, PUBLIC_SUBNET_ID


class TestCreate:
    async def test_allocates_an_address_and_the_default_group(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        network, subnet = await network_with_subnet(client, "192.168.7.0/24")
        response = await client.post("/api/v1/ports", json={"network_id": network["id"]})
        assert response.status_code == 202, response.text
        port = response.json()
        assert response.headers["location"] == f"/api/v1/ports/{port['id']}"
        assert port["status"] == "BUILD"
        assert port["mac_address"].startswith("fa:16:3e:")
        [fixed] = port["fixed_ips"]
        assert fixed["subnet_id"] == subnet["id"]
        assert ipaddress.ip_address(fixed["ip_address"]) in ipaddress.ip_network("192.168.7.0/24")
        assert fixed["ip_address"] not in ("192.168.7.0", "192.168.7.1", "192.168.7.255")
        assert len(port["security_groups"]) == 1
        await settle(container)
        settled = await get(client, f"/api/v1/ports/{port['id']}")
        assert settled["status"] == "DOWN"  # unbound
        cloud = await container.provider.network.ports(tags=(f"stackgate-id={port['id']}",))
        assert cloud[0].fixed_ips[0].ip_address == fixed["ip_address"]

    async def test_requested_address(self, client: httpx.AsyncClient) -> None:
        network, subnet = await network_with_subnet(client, "192.168.8.0/24")
        port = await create_port(
            client, network["id"], fixed_ips=[{"ip_address": "192.168.8.50"}], name="p"
        )
        assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "192.168.8.50"}]
        again = await client.post(
            "/api/v1/ports",
            json={"network_id": network["id"], "fixed_ips": [{"ip_address": "192.168.8.50"}]},
        )
        assert again.status_code == 409
        assert again.json()["code"] == "ip_address_in_use"
        for address in ("192.168.9.5", "192.168.8.255", "192.168.8.1", "bogus"):
            response = await client.post(
                "/api/v1/ports",
                json={
                    "network_id": network["id"],
                    "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": address}],
                },
            )
            assert response.status_code == 422, (address, response.text)
        ports = await get(client, f"/api/v1/ports?network_id={network['id']}")
        assert ports["total"] == 1

    async def test_bad_requests_change_nothing(self, client: httpx.AsyncClient) -> None:
        network, _ = await network_with_subnet(client)
        cases = [
            {},
            {"network_id": network["id"], "fixed_ips": [{"ip_address": "203.0.113.9"}]},
            {"network_id": network["id"], "fixed_ips": [{"subnet_id": PUBLIC_SUBNET_ID}]},
            {"network_id": network["id"], "extra": 1},
            {"network_id": network["id"], "security_groups": ["no-such-group"]},
            {"network_id": PUBLIC_NETWORK_ID},
        ]
        for body in cases:
            response = await client.post("/api/v1/ports", json=body)
            assert 400 <= response.status_code < 500, (body, response.text)
        assert (await get(client, "/api/v1/ports"))["total"] == 0
        assert (await client.post("/api/v1/ports", json={"network_id": "nope"})).status_code == 404

    async def test_an_empty_fixed_ip_asks_for_any_free_address(
        self, client: httpx.AsyncClient
    ) -> None:
        network, subnet = await network_with_subnet(client)
        response = await client.post(
            "/api/v1/ports", json={"network_id": network["id"], "fixed_ips": [{}]}
        )
        assert response.status_code == 202, response.text
        (fixed,) = response.json()["fixed_ips"]
        assert fixed["subnet_id"] == subnet["id"]

    async def test_network_without_subnet(self, client: httpx.AsyncClient) -> None:
        network = await create_network(client)
        response = await client.post("/api/v1/ports", json={"network_id": network["id"]})
        assert response.status_code == 409

    async def test_quota(self, client: httpx.AsyncClient, container: Container) -> None:
        await set_quotas(container, DEFAULT_PROJECT_ID, ports=1)
        network, _ = await network_with_subnet(client)
        await create_port(client, network["id"])
        response = await client.post("/api/v1/ports", json={"network_id": network["id"]})
        assert response.status_code == 403
        assert response.json()["code"] == "quota_exceeded"


@pytest.mark.dialects
class TestConcurrency:
    async def test_parallel_creates_get_distinct_addresses_until_exhausted(
        self, client: httpx.AsyncClient
    ) -> None:
        network = await create_network(client)
        await create_subnet(client, network["id"], "10.50.0.0/26")  # pool .2-.62: 61 addresses

        async def one() -> httpx.Response:
            return await client.post("/api/v1/ports", json={"network_id": network["id"]})

        first = await asyncio.gather(*(one() for _ in range(50)))
        assert all(r.status_code == 202 for r in first), [
            r.text for r in first if r.status_code != 202
        ]
        addresses = [r.json()["fixed_ips"][0]["ip_address"] for r in first]
        assert len(set(addresses)) == 50
        rest = await asyncio.gather(*(one() for _ in range(12)))
        codes = sorted(r.status_code for r in rest)
        assert codes == [202] * 11 + [409], codes
        refused = next(r for r in rest if r.status_code == 409)
        assert refused.json()["code"] == "ip_exhausted"
        addresses += [r.json()["fixed_ips"][0]["ip_address"] for r in rest if r.status_code == 202]
        assert len(set(addresses)) == 61
        net = ipaddress.ip_network("10.50.0.0/26")
        expected = {str(net.network_address + i) for i in range(2, 63)}
        assert set(addresses) == expected
        listed = await get(client, f"/api/v1/ports?network_id={network['id']}&per_page=100")
        assert listed["total"] == 61


class TestReadUpdateDelete:
    async def test_list_filters_get_update(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        network, _ = await network_with_subnet(client)
        port = await create_port(client, network["id"], name="a")
        await create_port(client, network["id"], name="b")
        listed = await get(client, f"/api/v1/ports?network_id={network['id']}&sort=name")
        assert [p["name"] for p in listed["items"]] == ["a", "b"]
        assert (await get(client, "/api/v1/ports?device_id=nothing"))["total"] == 0
        await settle(container)
        assert (await get(client, "/api/v1/ports?status=DOWN"))["total"] == 2
        group = await client.post("/api/v1/security-groups", json={"name": "web"})
        assert group.status_code in (201, 202), group.text
        response = await client.patch(
            f"/api/v1/ports/{port['id']}", json={"name": "a2", "security_groups": ["web"]}
        )
        assert response.status_code == 200, response.text
        assert response.json()["name"] == "a2"
        assert response.json()["security_groups"] == [group.json()["id"]]
        await settle(container)
        cloud = await container.provider.network.ports(tags=(f"stackgate-id={port['id']}",))
        sg_cloud = await container.provider.network.security_groups(
            tags=(f"stackgate-id={group.json()['id']}",)
        )
        assert cloud[0].security_group_ids == (sg_cloud[0].id,)

    async def test_delete_frees_the_address(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        network, _ = await network_with_subnet(client, "10.60.0.0/30")  # one address: .2
        port = await create_port(client, network["id"])
        full = await client.post("/api/v1/ports", json={"network_id": network["id"]})
        assert full.status_code == 409
        await settle(container)
        response = await client.delete(f"/api/v1/ports/{port['id']}")
        assert response.status_code == 202
        await settle(container)
        assert (await client.get(f"/api/v1/ports/{port['id']}")).status_code == 404
        again = await create_port(client, network["id"])
        assert again["fixed_ips"][0]["ip_address"] == port["fixed_ips"][0]["ip_address"]
        assert not await container.provider.network.ports(tags=(f"stackgate-id={port['id']}",))

    async def test_another_projects_port_is_not_found(
        self, client: httpx.AsyncClient, admin_client: httpx.AsyncClient
    ) -> None:
        network, _ = await network_with_subnet(client)
        port = await create_port(client, network["id"])
        other = await admin_client.post("/api/v1/networks", json={"name": "adm"})
        theirs_net = other.json()["id"]
        await admin_client.post(
            "/api/v1/subnets", json={"network_id": theirs_net, "cidr": "10.70.0.0/24"}
        )
        theirs = (await admin_client.post("/api/v1/ports", json={"network_id": theirs_net})).json()
        for method in ("GET", "PATCH", "DELETE"):
            body = {"name": "x"} if method == "PATCH" else None
            response = await client.request(method, f"/api/v1/ports/{theirs['id']}", json=body)
            assert response.status_code == 404, (method, response.text)
        assert port["id"] in {p["id"] for p in (await get(client, "/api/v1/ports"))["items"]}
        assert theirs["id"] not in {p["id"] for p in (await get(client, "/api/v1/ports"))["items"]}

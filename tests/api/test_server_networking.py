"""Servers on networks: the default private network and `default` group, explicit networks and
groups, add/remove-security-group, addresses in bodies, and parallel creates that never share
an address and run out with a clear 409 ip_exhausted."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from tests.builders import create_server, settle

from stackgate.bootstrap import Container
from stackgate.compute.models import Server
from stackgate.core.operations import Operation
from stackgate.network.models import IPAllocation, Port
from stackgate.network.seed import PRIVATE_CIDR


async def network_with_subnet(
    client: httpx.AsyncClient, container: Container, cidr: str = "192.168.50.0/24"
) -> tuple[dict[str, Any], dict[str, Any]]:
    response = await client.post("/api/v1/networks", json={"name": "app-net"})
    assert response.status_code == 202, response.text
    network = response.json()
    response = await client.post(
        "/api/v1/subnets", json={"network_id": network["id"], "cidr": cidr, "name": "app-sub"}
    )
    assert response.status_code == 202, response.text
    await container.runner.drain()
    return network, response.json()


async def group(client: httpx.AsyncClient, name: str = "web") -> dict[str, Any]:
    response = await client.post("/api/v1/security-groups", json={"name": name})
    assert response.status_code == 202, response.text
    return dict(response.json())


async def count(container: Container, model: Any) -> int:
    async with container.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def built(client: httpx.AsyncClient, container: Container, **fields: Any) -> dict[str, Any]:
    server = await create_server(client, flavor="m1.tiny", **fields)
    for _ in range(50):
        body = await settle(client, container, server["id"])
        if body["task_state"] is None:
            return body
    raise AssertionError(f"server did not settle: {body}")


class TestDefaults:
    async def test_a_server_gets_a_port_on_the_private_network_with_the_default_group(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await built(client, container)
        assert server["status"] == "ACTIVE", server
        (fixed,) = server["addresses"]["private"]
        assert ipaddress.ip_address(fixed["addr"]) in ipaddress.ip_network(PRIVATE_CIDR)
        assert fixed["type"] == "fixed" and fixed["mac_addr"].startswith("fa:16:3e:")
        assert server["ip_address"] == fixed["addr"]
        assert server["security_groups"] == [{"name": "default"}]
        port = (await client.get(f"/api/v1/ports/{fixed['port_id']}")).json()
        assert port["device_id"] == server["id"]

    async def test_one_private_network_for_many_servers(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        first = await create_server(client, name="a")
        second = await create_server(client, name="b")
        assert first["addresses"].keys() == second["addresses"].keys() == {"private"}
        networks = (await client.get("/api/v1/networks")).json()["items"]
        assert sorted(n["name"] for n in networks) == ["private", "public"]

    async def test_the_list_shows_every_servers_addresses(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        ids = {(await create_server(client, name=f"vm-{i}"))["id"] for i in range(3)}
        items = (await client.get("/api/v1/vms")).json()["items"]
        assert {s["id"] for s in items} == ids
        addresses = [s["addresses"]["private"][0]["addr"] for s in items]
        assert len(set(addresses)) == 3

    async def test_delete_releases_the_port_and_its_address(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await built(client, container)
        assert await count(container, Port) == 1
        assert (await client.delete(f"/api/v1/vms/{server['id']}")).status_code == 202
        await settle(client, container, server["id"])
        await container.runner.drain()
        assert await count(container, Port) == 0
        async with container.sessionmaker() as session:
            stmt = (
                select(func.count())
                .select_from(IPAllocation)
                .where(IPAllocation.owner_type == "port")
            )
            assert await session.scalar(stmt) == 0


class TestExplicit:
    async def test_a_server_on_a_network_with_a_group(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        network, _ = await network_with_subnet(client, container)
        web = await group(client)
        server = await built(client, container, networks=[network["id"]], security_groups=["web"])
        assert server["status"] == "ACTIVE", server
        assert list(server["addresses"]) == ["app-net"]
        assert server["addresses"]["app-net"][0]["addr"].startswith("192.168.50.")
        assert server["security_groups"] == [{"name": "web"}]
        by_id = await built(client, container, networks=["app-net"], security_groups=[web["id"]])
        assert by_id["security_groups"] == [{"name": "web"}]

    async def test_two_networks_give_two_ports(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        network, _ = await network_with_subnet(client, container)
        server = await built(client, container, networks=[network["id"], "private"])
        assert set(server["addresses"]) == {"app-net", "private"}

    async def test_an_unknown_network_changes_nothing(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        response = await client.post(
            "/api/v1/vms",
            json={"name": "vm", "flavor": "m1.tiny", "image": "cirros-0.6", "networks": ["nope"]},
        )
        assert response.status_code in (400, 422), response.text
        assert response.json()["field"] == "networks"
        assert await count(container, Server) == 0
        assert await count(container, Port) == 0

    async def test_an_unknown_group_changes_nothing(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        body = {"name": "vm", "flavor": "m1.tiny", "image": "cirros-0.6"}
        response = await client.post("/api/v1/vms", json={**body, "security_groups": ["nope"]})
        assert response.status_code in (400, 422), response.text
        assert response.json()["field"] == "security_groups"
        assert await count(container, Server) == 0
        assert await count(container, Port) == 0

    async def test_the_external_network_is_refused(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        body = {"name": "vm", "flavor": "m1.tiny", "image": "cirros-0.6", "networks": ["public"]}
        response = await client.post("/api/v1/vms", json=body)
        assert response.status_code in (400, 422), response.text
        assert await count(container, Server) == 0


class TestSecurityGroupActions:
    async def test_add_and_remove_a_group(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await built(client, container)
        await group(client)
        path = f"/api/v1/vms/{server['id']}/actions"
        response = await client.post(f"{path}/add-security-group", json={"name": "web"})
        assert response.status_code == 202, response.text
        assert response.json()["security_groups"] == [{"name": "default"}, {"name": "web"}]
        again = await client.post(f"{path}/add-security-group", json={"name": "web"})
        assert again.status_code == 409, again.text
        async with container.sessionmaker() as session:
            updates = select(Operation).where(
                Operation.resource_type == "port", Operation.action == "update"
            )
            assert len((await session.scalars(updates)).all()) == 1
        await container.runner.drain()

        response = await client.post(f"{path}/remove-security-group", json={"name": "default"})
        assert response.status_code == 202, response.text
        assert response.json()["security_groups"] == [{"name": "web"}]
        gone = await client.post(f"{path}/remove-security-group", json={"name": "default"})
        assert gone.status_code == 404, gone.text
        await container.runner.drain()
        port_id = response.json()["addresses"]["private"][0]["port_id"]
        port = (await client.get(f"/api/v1/ports/{port_id}")).json()
        assert port["status"] != "ERROR"

    async def test_an_unknown_group_is_refused(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await built(client, container)
        response = await client.post(
            f"/api/v1/vms/{server['id']}/actions/add-security-group", json={"name": "nope"}
        )
        assert response.status_code in (400, 404, 422), response.text

    async def test_another_projects_server_is_not_found(
        self,
        client: httpx.AsyncClient,
        admin_client: httpx.AsyncClient,
        container: Container,
    ) -> None:
        server = await create_server(admin_client)
        response = await client.post(
            f"/api/v1/vms/{server['id']}/actions/add-security-group", json={"name": "default"}
        )
        assert response.status_code == 404


@pytest.mark.dialects
class TestAddressesUnderConcurrency:
    async def test_parallel_creates_get_distinct_addresses_until_the_pool_runs_out(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        network, subnet = await network_with_subnet(client, container, cidr="192.168.60.0/26")
        (pool,) = subnet["allocation_pools"]
        size = int(ipaddress.ip_address(pool["end"])) - int(ipaddress.ip_address(pool["start"])) + 1
        assert size == 61  # a /26 without network, broadcast and gateway

        async def one(i: int) -> httpx.Response:
            body = {
                "name": f"vm-{i}",
                "flavor": "m1.tiny",
                "image": "cirros-0.6",
                "networks": [network["id"]],
            }
            return await client.post("/api/v1/vms", json=body)

        first = await asyncio.gather(*(one(i) for i in range(50)))
        assert [r.status_code for r in first] == [202] * 50, [r.text for r in first if r.is_error]
        rest = await asyncio.gather(*(one(50 + i) for i in range(size - 50 + 3)))
        codes = sorted(r.status_code for r in rest)
        assert codes == [202] * (size - 50) + [409] * 3, [r.text for r in rest if r.is_error]
        refused = [r.json() for r in rest if r.status_code == 409]
        assert {p["code"] for p in refused} == {"ip_exhausted"}

        addresses = [
            r.json()["addresses"]["app-net"][0]["addr"] for r in (*first, *rest) if r.is_success
        ]
        assert len(addresses) == len(set(addresses)) == size
        assert await count(container, Server) == size

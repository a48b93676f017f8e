"""POST /api/v1/vms and GET /api/v1/vms/{id}: the accepted server and the built one."""

from __future__ import annotations

import ipaddress
import re
import uuid
from datetime import UTC, datetime

import httpx
from tests.builders import active_server, create_server, settle

from stackgate.bootstrap import Container
from stackgate.network.seed import PRIVATE_CIDR

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
FIELDS = {
    "id",
    "name",
    "description",
    "flavor",
    "image",
    "status",
    "vm_state",
    "task_state",
    "power_state",
    "locked",
    "ip_address",
    "metadata",
    "fault",
    "created_at",
    "updated_at",
    "version",
    "links",
}


def parse_z(value: str) -> datetime:
    assert ISO_Z.match(value), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class TestCreateAccepted:
    async def test_answers_202_in_build_with_location(self, client: httpx.AsyncClient) -> None:
        before = datetime.now(UTC)
        response = await client.post(
            "/api/v1/vms", json={"name": "web-01", "flavor": "m1.small", "image": "cirros-0.6"}
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert body.keys() >= FIELDS
        uuid.UUID(body["id"])
        assert response.headers["location"] == f"/api/v1/vms/{body['id']}"
        assert body["status"] == "BUILD"
        assert body["vm_state"] == "building"
        assert body["task_state"] == "scheduling"
        assert body["power_state"] == 0
        # The port on the project's private network has its address from the start.
        (fixed,) = body["addresses"]["private"]
        assert fixed["type"] == "fixed"
        assert ipaddress.ip_address(fixed["addr"]) in ipaddress.ip_network(PRIVATE_CIDR)
        assert body["ip_address"] == fixed["addr"]
        assert body["security_groups"] == [{"name": "default"}]
        assert body["volumes_attached"] == []
        assert body["launched_at"] is None
        assert body["fault"] is None
        assert body["locked"] is False
        assert body["links"] == [{"rel": "self", "href": f"/api/v1/vms/{body['id']}"}]
        created = parse_z(body["created_at"])
        parse_z(body["updated_at"])
        assert abs((created - before).total_seconds()) < 60

    async def test_copies_the_flavor_and_names_the_image(self, client: httpx.AsyncClient) -> None:
        flavors = (await client.get("/api/v1/flavors", params={"name": "m1.medium"})).json()
        medium = next(f for f in flavors["items"] if f["name"] == "m1.medium")
        body = await create_server(client, flavor="m1.medium", image="ubuntu-22.04")
        assert body["flavor"] == {
            "id": medium["id"],
            "name": "m1.medium",
            "vcpus": medium["vcpus"],
            "ram_mb": medium["ram_mb"],
            "disk_gb": medium["disk_gb"],
        }
        assert body["image"]["name"] == "ubuntu-22.04"
        image = (await client.get(f"/api/v1/images/{body['image']['id']}")).json()
        assert image["name"] == "ubuntu-22.04"

    async def test_flavor_and_image_by_id(self, client: httpx.AsyncClient) -> None:
        flavor = (await client.get("/api/v1/flavors/m1.tiny")).json()
        images = (await client.get("/api/v1/images", params={"name": "cirros"})).json()
        image = images["items"][0]
        body = await create_server(client, flavor=flavor["id"], image=image["id"])
        assert body["flavor"]["name"] == "m1.tiny"
        assert body["image"] == {"id": image["id"], "name": image["name"]}

    async def test_optional_fields_are_kept(self, client: httpx.AsyncClient) -> None:
        body = await create_server(
            client,
            name="db-01",
            description="primary database",
            metadata={"role": "db", "tier": "gold"},
            key_name="ops-key",
            user_data="#cloud-config\npackages: [postgresql]\n",
        )
        shown = (await client.get(f"/api/v1/vms/{body['id']}")).json()
        for view in (body, shown):
            assert view["name"] == "db-01"
            assert view["description"] == "primary database"
            assert view["metadata"] == {"role": "db", "tier": "gold"}
            assert view["key_name"] == "ops-key"

    async def test_defaults_when_optional_fields_are_absent(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await create_server(client)
        assert body["description"] is None
        assert body["metadata"] == {}
        assert body["key_name"] is None

    async def test_unicode_name_round_trips(self, client: httpx.AsyncClient) -> None:
        body = await create_server(client, name="сервер-😀-東京")
        shown = (await client.get(f"/api/v1/vms/{body['id']}")).json()
        assert shown["name"] == "сервер-😀-東京"

    async def test_names_need_not_be_unique(self, client: httpx.AsyncClient) -> None:
        first = await create_server(client, name="twin")
        second = await create_server(client, name="twin")
        assert first["id"] != second["id"]


class TestBuilt:
    async def test_worker_brings_it_to_active(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        accepted = await create_server(client)
        built = await settle(client, container, accepted["id"])
        assert built["status"] == "ACTIVE"
        assert built["vm_state"] == "active"
        assert built["task_state"] is None
        assert built["power_state"] == 1
        assert re.match(r"^\d+\.\d+\.\d+\.\d+$", built["ip_address"]), built["ip_address"]
        launched = parse_z(built["launched_at"])
        assert launched >= parse_z(accepted["created_at"])
        assert parse_z(built["updated_at"]) >= parse_z(accepted["updated_at"])
        assert built["version"] > accepted["version"]
        assert built["fault"] is None

    async def test_each_server_gets_its_own_address(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        ids = [(await create_server(client, name=f"web-{i}"))["id"] for i in range(5)]
        await container.runner.drain()
        addresses = [(await client.get(f"/api/v1/vms/{i}")).json()["ip_address"] for i in ids]
        assert None not in addresses
        assert len(set(addresses)) == 5

    async def test_get_answers_the_same_document_as_the_list(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await active_server(client, container)
        listed = (await client.get("/api/v1/vms")).json()["items"]
        assert [s for s in listed if s["id"] == server["id"]] == [server]

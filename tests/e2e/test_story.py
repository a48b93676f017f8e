"""The whole issue-4 story over real HTTP to `stackgate serve`: a network with a subnet, a
security group allowing SSH, a server on them booted from a volume, a data volume attached, a
floating IP associated; then everything torn down and every quota back to zero."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Launcher, api, eventually

pytestmark = pytest.mark.e2e
WITHIN = 60.0


async def field_is(
    http: httpx.AsyncClient, path: str, field: str, *wanted: Any
) -> dict[str, Any] | None:
    response = await http.get(path)
    assert response.status_code == 200, response.text
    body = dict(response.json())
    assert body.get(field) not in ("ERROR", "error"), body
    return body if body.get(field) in wanted else None


async def gone(http: httpx.AsyncClient, path: str) -> bool:
    return (await http.get(path)).status_code == 404


async def until_accepted(call: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
    """Retry a delete refused with 409 while the cloud still releases what used it."""

    async def attempt() -> httpx.Response | None:
        response = await call()
        if response.status_code == 409:
            return None
        assert response.status_code in (202, 204), response.text
        return response

    return await eventually(attempt, within=WITHIN, interval=0.5)


class TestStory:
    async def test_network_group_server_volumes_floating_ip_and_teardown(
        self, launcher: Launcher
    ) -> None:
        _, base_url = await launcher.serving("serve")
        async with api(base_url) as http:
            # A network with a subnet.
            response = await http.post("/api/v1/networks", json={"name": "story-net"})
            assert response.status_code == 202, response.text
            network = response.json()
            response = await http.post(
                "/api/v1/subnets",
                json={"network_id": network["id"], "cidr": "192.168.77.0/24", "name": "story"},
            )
            assert response.status_code == 202, response.text
            subnet = response.json()

            # A security group allowing SSH from anywhere.
            response = await http.post("/api/v1/security-groups", json={"name": "ssh"})
            assert response.status_code == 202, response.text
            group = response.json()
            rule = {
                "direction": "ingress",
                "protocol": "tcp",
                "port_range_min": 22,
                "port_range_max": 22,
                "remote_ip_prefix": "0.0.0.0/0",
            }
            response = await http.post(f"/api/v1/security-groups/{group['id']}/rules", json=rule)
            assert response.status_code == 202, response.text

            # A data volume.
            response = await http.post("/api/v1/volumes", json={"size": 1, "name": "data"})
            assert response.status_code == 202, response.text
            data = f"/api/v1/volumes/{response.json()['id']}"
            await eventually(lambda: field_is(http, data, "status", "available"), within=WITHIN)

            # The server on that network with that group, booted from a new volume.
            response = await http.post(
                "/api/v1/vms",
                json={
                    "name": "story-vm",
                    "flavor": "m1.tiny",
                    "image": "cirros-0.6",
                    "networks": [network["id"]],
                    "security_groups": ["ssh"],
                    "boot_volume": {"size": 1},
                },
            )
            assert response.status_code == 202, response.text
            server = response.json()
            vm = f"/api/v1/vms/{server['id']}"
            active = await eventually(lambda: field_is(http, vm, "status", "ACTIVE"), within=WITHIN)
            assert active["security_groups"] == [{"name": "ssh"}]
            (fixed,) = active["addresses"]["story-net"]
            assert fixed["addr"].startswith("192.168.77.")
            (root,) = active["volumes_attached"]
            assert root["device"] == "/dev/vda"

            # Attach the data volume.
            volume_id = data.rsplit("/", 1)[1]
            response = await http.post(f"{vm}/volumes", json={"volume_id": volume_id})
            assert response.status_code == 202, response.text
            await eventually(lambda: field_is(http, data, "status", "in-use"), within=WITHIN)
            body = (await http.get(vm)).json()
            assert sorted(v["device"] for v in body["volumes_attached"]) == ["/dev/vda", "/dev/vdb"]

            # A floating IP associated with the server.
            response = await http.post("/api/v1/floating-ips", json={})
            assert response.status_code == 202, response.text
            fip = f"/api/v1/floating-ips/{response.json()['id']}"
            await eventually(lambda: field_is(http, fip, "status", "DOWN"), within=WITHIN)
            response = await http.post(f"{fip}/actions/associate", json={"vm_id": server["id"]})
            assert response.status_code == 202, response.text
            associated = await eventually(
                lambda: field_is(http, fip, "status", "ACTIVE"), within=WITHIN
            )
            assert associated["fixed_ip_address"] == fixed["addr"]
            body = (await http.get(vm)).json()
            kinds = {a["type"]: a["addr"] for a in body["addresses"]["story-net"]}
            assert kinds == {"fixed": fixed["addr"], "floating": associated["floating_ip_address"]}

            # Tear everything down.
            response = await http.post(f"{fip}/actions/disassociate")
            assert response.status_code == 202, response.text
            await eventually(lambda: field_is(http, fip, "status", "DOWN"), within=WITHIN)
            assert (await http.delete(fip)).status_code in (202, 204)
            await eventually(lambda: gone(http, fip), within=WITHIN)

            response = await http.delete(f"{vm}/volumes/{volume_id}")
            assert response.status_code == 202, response.text
            await eventually(lambda: field_is(http, data, "status", "available"), within=WITHIN)

            assert (await http.delete(vm)).status_code == 202
            await eventually(lambda: gone(http, vm), within=WITHIN)
            await eventually(lambda: gone(http, f"/api/v1/volumes/{root['id']}"), within=WITHIN)
            assert (await http.delete(data)).status_code in (202, 204)
            await eventually(lambda: gone(http, data), within=WITHIN)

            group_path = f"/api/v1/security-groups/{group['id']}"
            await until_accepted(lambda: http.delete(group_path))
            await eventually(lambda: gone(http, group_path), within=WITHIN)
            subnet_path = f"/api/v1/subnets/{subnet['id']}"
            await until_accepted(lambda: http.delete(subnet_path))
            await eventually(lambda: gone(http, subnet_path), within=WITHIN)
            network_path = f"/api/v1/networks/{network['id']}"
            await until_accepted(lambda: http.delete(network_path))
            await eventually(lambda: gone(http, network_path), within=WITHIN)

            async def all_zero() -> dict[str, Any] | None:
                response = await http.get(f"/api/v1/projects/{server['project_id']}/quotas")
                assert response.status_code == 200, response.text
                quotas = response.json()["quotas"]
                in_use = {name: q["in_use"] for name, q in quotas.items()}
                return in_use if not any(in_use.values()) else None

            in_use = await eventually(all_zero, within=WITHIN, interval=0.5)
            assert set(in_use) >= {
                "instances",
                "cores",
                "ram",
                "volumes",
                "gigabytes",
                "snapshots",
                "networks",
                "subnets",
                "ports",
                "floating_ips",
                "security_groups",
                "security_group_rules",
            }

"""What the fake Neutron shows OpenStack clients: project isolation and its wire shapes
(bodies, errors, filters, tags, discovery), checked with the plain SDK and HTTP."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import openstack.exceptions as exc
import pytest
from openstack.connection import Connection

import openstack
from tests.openstack.conftest import connect_kwargs


async def test_projects_do_not_see_each_others_networks(fake_url: str, os_conn: Connection) -> None:
    def run() -> None:
        hidden = os_conn.network.create_network(name="admin-only")
        demo = openstack.connect(**connect_kwargs(fake_url, username="demo", project="demo"))
        names = {n.name for n in demo.network.networks()}
        assert "admin-only" not in names and "private" not in names
        assert "public" in names
        with pytest.raises(exc.NotFoundException):
            demo.network.get_network(hidden.id)
        with pytest.raises(exc.NotFoundException):
            demo.network.delete_network(hidden.id, ignore_missing=False)
        own = demo.network.create_network(name="demo-net")
        assert own.project_id != hidden.project_id
        assert "demo-net" in {n.name for n in os_conn.network.networks()}
        # Creating a shared network is admin-only.
        with pytest.raises(exc.ForbiddenException):
            demo.network.create_network(name="x", is_shared=True)
        demo.close()

    await asyncio.to_thread(run)


async def test_wire_shapes(os_conn: Connection, fake_url: str) -> None:
    def run() -> None:
        net = os_conn.network
        own = os_conn.current_project_id
        assert own is not None
        created = net.post("/networks", json={"network": {"name": "shape", "tags": ["t1"]}})
        assert created.status_code == 201
        body = created.json()["network"]
        for key in (
            "id",
            "name",
            "status",
            "admin_state_up",
            "shared",
            "router:external",
            "subnets",
            "mtu",
            "project_id",
            "tenant_id",
            "tags",
            "description",
            "created_at",
            "updated_at",
            "revision_number",
            "provider:network_type",
        ):
            assert key in body, key
        assert body["project_id"] == body["tenant_id"] == own
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["created_at"])
        assert body["tags"] == ["t1"] and body["admin_state_up"] is True

        missing = str(uuid.uuid4())
        gone = net.get(f"/ports/{missing}", raise_exc=False)
        assert gone.status_code == 404
        assert gone.json() == {
            "NeutronError": {
                "type": "PortNotFound",
                "message": f"Port {missing} could not be found.",
                "detail": "",
            }
        }
        group = net.create_security_group(name="shape-sg")
        rule = {
            "security_group_rule": {
                "security_group_id": group.id,
                "direction": "ingress",
                "protocol": "icmp",
            }
        }
        assert net.post("/security-group-rules", json=rule).status_code == 201
        again = net.post("/security-group-rules", json=rule, raise_exc=False)
        assert again.status_code == 409
        assert again.json()["NeutronError"]["type"] == "SecurityGroupRuleExists"

        subnet = net.create_subnet(network_id=body["id"], cidr="10.9.0.0/24", ip_version=4)
        assert subnet.gateway_ip == "10.9.0.1"
        assert subnet.allocation_pools == [{"start": "10.9.0.2", "end": "10.9.0.254"}]
        port = net.create_port(network_id=body["id"], fixed_ips=[{"subnet_id": subnet.id}])
        in_use = net.delete(f"/networks/{body['id']}", raise_exc=False)
        assert in_use.status_code == 409
        assert in_use.json()["NeutronError"]["type"] == "NetworkInUse"
        sg_in_use = net.delete(f"/security-groups/{port.security_group_ids[0]}", raise_exc=False)
        assert sg_in_use.status_code == 409

        net.update_quota(own, networks=0)
        over = net.post("/networks", json={"network": {"name": "x"}}, raise_exc=False)
        assert over.status_code == 409
        assert over.json()["NeutronError"] == {
            "type": "OverQuota",
            "message": "Quota exceeded for resources: ['network'].",
            "detail": "",
        }
        net.delete_quota(own)

        listed = net.get("/networks?name=shape&fields=id&fields=name").json()["networks"]
        assert listed == [{"id": body["id"], "name": "shape"}]
        net.set_tags(net.get_network(body["id"]), ["x", "y"])
        assert [n.id for n in net.networks(tags="x,y")] == [body["id"]]
        assert [n.id for n in net.networks(any_tags="y,zzz")] == [body["id"]]
        assert body["id"] not in {n.id for n in net.networks(not_tags="x")}

    await asyncio.to_thread(run)

    async with httpx.AsyncClient() as client:
        root = (await client.get(f"{fake_url}/networking/")).json()
        assert root["versions"][0]["id"] == "v2.0"
        assert root["versions"][0]["status"] == "CURRENT"
        assert root["versions"][0]["links"][0]["href"] == f"{fake_url}/networking/v2.0/"
        v2 = (await client.get(f"{fake_url}/networking/v2.0/")).json()
        assert {"networks", "ports", "security-groups"} <= {
            r["collection"] for r in v2["resources"]
        }
        unauthorized = await client.get(f"{fake_url}/networking/v2.0/networks")
        assert unauthorized.status_code == 401

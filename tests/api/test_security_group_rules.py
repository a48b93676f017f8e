"""Security group rules through the API: Neutron's normalisation and validation, duplicates
(also under concurrency), remote groups, deletes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from tests.api.test_security_groups import SG, SSH, add_rule, new_group, rules
from tests.builders import assert_problem
from tests.conftest import set_quotas

from stackgate.bootstrap import Container
from stackgate.core.context import DEFAULT_PROJECT_ID


class TestRules:
    async def test_ssh_rule(self, client: httpx.AsyncClient) -> None:
        group = await new_group(client)
        response = await add_rule(client, group["id"], **SSH, description="ssh")
        assert response.status_code == 202, response.text
        rule = response.json()
        assert response.headers["location"] == f"{SG}/{group['id']}/rules/{rule['id']}"
        assert (rule["protocol"], rule["port_range_min"], rule["port_range_max"]) == ("tcp", 22, 22)
        assert (rule["remote_ip_prefix"], rule["ethertype"]) == ("0.0.0.0/0", "IPv4")
        assert (await client.get(f"{SG}/{group['id']}/rules/{rule['id']}")).json() == rule
        assert len(await rules(client, group["id"])) == 3

    async def test_normalised(self, client: httpx.AsyncClient) -> None:
        group = await new_group(client)
        host = await add_rule(client, group["id"], direction="ingress", remote_ip_prefix="10.0.0.5")
        assert host.json()["remote_ip_prefix"] == "10.0.0.5/32"
        masked = await add_rule(
            client, group["id"], direction="ingress", remote_ip_prefix="10.1.2.3/16"
        )
        assert masked.json()["remote_ip_prefix"] == "10.1.0.0/16"
        every = await add_rule(
            client,
            group["id"],
            direction="ingress",
            protocol="udp",
            port_range_min=1,
            port_range_max=65535,
        )
        assert (every.json()["port_range_min"], every.json()["port_range_max"]) == (None, None)
        icmp6 = await add_rule(
            client, group["id"], direction="ingress", ethertype="IPv6", protocol="icmp"
        )
        assert icmp6.json()["protocol"] == "ipv6-icmp"

    @pytest.mark.parametrize(
        ("rule", "field"),
        [
            ({"direction": "ingress", "remote_ip_prefix": "10.0.0.300/8"}, "remote_ip_prefix"),
            (
                {
                    "direction": "ingress",
                    "protocol": "tcp",
                    "port_range_min": 90,
                    "port_range_max": 80,
                },
                "port_range_min",
            ),
            (
                {"direction": "ingress", "port_range_min": 80, "port_range_max": 80},
                "port_range_min",
            ),
            (
                {"direction": "ingress", "ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"},
                "remote_ip_prefix",
            ),
            ({"direction": "ingress", "protocol": "icmp", "port_range_max": 3}, "port_range_max"),
            (
                {
                    "direction": "ingress",
                    "protocol": "tcp",
                    "port_range_min": 70000,
                    "port_range_max": 70000,
                },
                "port_range_min",
            ),
            ({"direction": "ingress", "protocol": "ipv6-icmp"}, "protocol"),
            ({"direction": "ingress", "protocol": "tcpx"}, "protocol"),
            (
                {"direction": "ingress", "remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "x"},
                "remote_group_id",
            ),
            ({"direction": "sideways"}, "direction"),
            ({"direction": "ingress", "ethertype": "IPv5"}, "ethertype"),
        ],
    )
    async def test_invalid_rules_422_and_nothing_changes(
        self, client: httpx.AsyncClient, rule: dict[str, Any], field: str
    ) -> None:
        group = await new_group(client)
        before = await rules(client, group["id"])
        body = assert_problem(await add_rule(client, group["id"], **rule), 422)
        assert field in body["detail"] or field in str(body.get("errors", "")), body
        assert await rules(client, group["id"]) == before

    async def test_duplicate_is_409(self, client: httpx.AsyncClient) -> None:
        group = await new_group(client)
        first = (await add_rule(client, group["id"], **SSH)).json()
        body = assert_problem(await add_rule(client, group["id"], **SSH), 409, "rule_exists")
        assert first["id"] in body["detail"]
        # Another spelling of the same rule, and the starting egress rule again.
        same = {**SSH, "protocol": 6, "remote_ip_prefix": "0.0.0.0/0"}
        assert_problem(await add_rule(client, group["id"], **same), 409, "rule_exists")
        assert_problem(await add_rule(client, group["id"], direction="egress"), 409, "rule_exists")
        assert len(await rules(client, group["id"])) == 3

    @pytest.mark.dialects
    async def test_concurrent_identical_creates_one_wins(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        await set_quotas(container, DEFAULT_PROJECT_ID, security_group_rules=-1)
        group = await new_group(client)
        rule = {
            "direction": "ingress",
            "protocol": "tcp",
            "port_range_min": 443,
            "port_range_max": 443,
        }
        responses = await asyncio.gather(
            *(add_rule(client, group["id"], **rule) for _ in range(10))
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [202] + [409] * 9, [r.text for r in responses]
        for response in responses:
            if response.status_code == 409:
                assert_problem(response, 409, "rule_exists")
        assert len(await rules(client, group["id"])) == 3

    async def test_delete_rule(self, client: httpx.AsyncClient, container: Container) -> None:
        group = await new_group(client)
        rule = (await add_rule(client, group["id"], **SSH)).json()
        await container.runner.drain()
        url = f"{SG}/{group['id']}/rules/{rule['id']}"
        assert (await client.delete(url)).status_code == 202
        await container.runner.drain()
        assert_problem(await client.get(url), 404)
        assert len(await rules(client, group["id"])) == 2
        assert (await add_rule(client, group["id"], **SSH)).status_code == 202  # again allowed

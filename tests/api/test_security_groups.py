"""Security groups through the API on a real database, with the simulated cloud: the default
group, in-use and default-group protection, quotas, tenancy, and the worker syncing everything
to the cloud (their rules: test_security_group_rules.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from tests.builders import assert_problem
from tests.conftest import set_quotas

from stackgate.bootstrap import Container
from stackgate.core.context import DEFAULT_PROJECT_ID, RequestContext
from stackgate.core.ids import new_id
from stackgate.core.operations import Operation, OpState
from stackgate.network.models import Port
from stackgate.network.public import ensure_default_group, resolve_groups, set_port_groups
from stackgate.network.security_groups.errors import UnknownSecurityGroup
from stackgate.network.security_groups.service import SecurityGroupUoW
from stackgate.network.seed import PUBLIC_NETWORK_ID
from stackgate.providers.network import RuleSpec

SG = "/api/v1/security-groups"
SSH = {
    "direction": "ingress",
    "protocol": "tcp",
    "port_range_min": 22,
    "port_range_max": 22,
    "remote_ip_prefix": "0.0.0.0/0",
}


async def groups(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get(SG)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def default_group(client: httpx.AsyncClient) -> dict[str, Any]:
    return next(g for g in await groups(client) if g["name"] == "default")


async def new_group(client: httpx.AsyncClient, name: str = "web") -> dict[str, Any]:
    response = await client.post(SG, json={"name": name, "description": "d"})
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"{SG}/{response.json()['id']}"
    return dict(response.json())


async def add_rule(client: httpx.AsyncClient, group_id: str, **rule: Any) -> httpx.Response:
    return await client.post(f"{SG}/{group_id}/rules", json=rule)


async def rules(client: httpx.AsyncClient, group_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"{SG}/{group_id}/rules")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def shape(rule: dict[str, Any]) -> tuple[Any, ...]:
    return (rule["direction"], rule["ethertype"], rule["protocol"], rule["remote_group_id"])


async def make_port(container: Container, group_ids: list[str]) -> str:
    """A port row linked to groups (as the network service's create_server_port does)."""
    ctx = RequestContext(project_id=DEFAULT_PROJECT_ID)
    async with SecurityGroupUoW(container.sessionmaker) as uow:
        port = Port(
            id=new_id(),
            project_id=DEFAULT_PROJECT_ID,
            network_id=PUBLIC_NETWORK_ID,
            mac_address="fa:16:3e:00:00:01",
            status="DOWN",
        )
        uow.session.add(port)
        await uow.session.flush()
        await set_port_groups(
            uow, port.id, await resolve_groups(uow, ctx, group_ids, operations=container.operations)
        )
        await uow.commit()
        return port.id


class TestDefaultGroup:
    async def test_made_on_first_use_with_four_rules(self, client: httpx.AsyncClient) -> None:
        listed = await groups(client)
        assert [g["name"] for g in listed] == ["default"]
        group = listed[0]
        assert group["default"] is True
        assert sorted(shape(r) for r in group["rules"]) == sorted(
            [
                ("egress", "IPv4", None, None),
                ("egress", "IPv6", None, None),
                ("ingress", "IPv4", None, group["id"]),
                ("ingress", "IPv6", None, group["id"]),
            ]
        )
        assert [g["id"] for g in await groups(client)] == [group["id"]]  # made once
        assert (await client.get(f"{SG}/{group['id']}")).json() == group

    @pytest.mark.dialects
    async def test_concurrent_first_uses_make_one(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        responses = await asyncio.gather(*(client.get(SG) for _ in range(8)))
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
        ids = {g["id"] for r in responses for g in r.json()["items"]}
        assert len(ids) == 1

    async def test_module_functions(self, client: httpx.AsyncClient, container: Container) -> None:
        web = await new_group(client)
        ctx = RequestContext(project_id=DEFAULT_PROJECT_ID)
        async with SecurityGroupUoW(container.sessionmaker) as uow:
            default = await ensure_default_group(
                uow, DEFAULT_PROJECT_ID, operations=container.operations
            )
            assert [
                g.id for g in await resolve_groups(uow, ctx, [], operations=container.operations)
            ] == [default.id]
            found = await resolve_groups(
                uow, ctx, ["web", "default", web["id"]], operations=container.operations
            )
            assert [g.id for g in found] == [web["id"], default.id]
            with pytest.raises(UnknownSecurityGroup) as caught:
                await resolve_groups(uow, ctx, ["nope"], operations=container.operations)
            assert caught.value.extra["field"] == "security_groups"

    async def test_rename_and_delete_rules(
        self, client: httpx.AsyncClient, admin_client: httpx.AsyncClient, container: Container
    ) -> None:
        group = await default_group(client)
        url = f"{SG}/{group['id']}"
        assert_problem(await client.patch(url, json={"name": "other"}), 409)
        described = await client.patch(url, json={"description": "mine"})
        assert described.status_code == 200, described.text
        assert described.json()["description"] == "mine"
        assert_problem(await client.delete(url), 409, "default_security_group")
        assert_problem(await client.post(SG, json={"name": "default"}), 422)
        web = await new_group(client)
        assert_problem(await client.patch(f"{SG}/{web['id']}", json={"name": "default"}), 422)
        # The cloud admin may delete it; the next use makes a new one.
        assert (await admin_client.delete(url)).status_code == 202
        await container.runner.drain()
        assert_problem(await client.get(url), 404)
        assert (await default_group(client))["id"] != group["id"]


class TestGroups:
    async def test_new_group_has_two_egress_rules(self, client: httpx.AsyncClient) -> None:
        group = await new_group(client)
        assert group["default"] is False and group["status"] == "BUILD"
        assert sorted(shape(r) for r in group["rules"]) == [
            ("egress", "IPv4", None, None),
            ("egress", "IPv6", None, None),
        ]
        assert {g["name"] for g in await groups(client)} == {"default", "web"}
        renamed = await client.patch(f"{SG}/{group['id']}", json={"name": "www"})
        assert renamed.json()["name"] == "www"

    async def test_group_in_use_by_a_port(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        group = await new_group(client)
        await make_port(container, [group["id"]])
        assert_problem(await client.delete(f"{SG}/{group['id']}"), 409, "security_group_in_use")
        assert (await client.get(f"{SG}/{group['id']}")).status_code == 200

    async def test_group_named_as_remote_group(self, client: httpx.AsyncClient) -> None:
        web, db = await new_group(client, "web"), await new_group(client, "db")
        rule = await add_rule(client, db["id"], direction="ingress", remote_group_id=web["id"])
        assert rule.status_code == 202, rule.text
        assert_problem(await client.delete(f"{SG}/{web['id']}"), 409, "security_group_in_use")
        await client.delete(f"{SG}/{db['id']}/rules/{rule.json()['id']}")

    async def test_delete_removes_it_everywhere(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        group = await new_group(client)
        await container.runner.drain()
        pid = await provider_id_of(container, group["id"])
        assert (await client.delete(f"{SG}/{group['id']}")).status_code == 202
        await container.runner.drain()
        assert_problem(await client.get(f"{SG}/{group['id']}"), 404)
        cloud = await container.provider.network.security_groups()
        assert pid not in {g.id for g in cloud}

    async def test_another_project_sees_404(
        self, client: httpx.AsyncClient, other_client: httpx.AsyncClient
    ) -> None:
        group = await new_group(client)
        rule = (await add_rule(client, group["id"], **SSH)).json()
        base = f"{SG}/{group['id']}"
        for call in (
            other_client.get(base),
            other_client.patch(base, json={"name": "x"}),
            other_client.delete(base),
            other_client.get(f"{base}/rules"),
            other_client.post(f"{base}/rules", json=SSH),
            other_client.get(f"{base}/rules/{rule['id']}"),
            other_client.delete(f"{base}/rules/{rule['id']}"),
        ):
            assert_problem(await call, 404, "not_found")
        theirs = await new_group(other_client, "theirs")
        foreign = await add_rule(
            client, group["id"], direction="ingress", remote_group_id=theirs["id"]
        )
        assert_problem(foreign, 422)
        assert {g["name"] for g in await groups(other_client)} == {"default", "theirs"}


class TestQuotas:
    async def test_groups_and_rules_counted(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        # The default group and its 4 template rules count against nothing; web (1 group,
        # 2 starting rules) plus one SSH rule fill these limits.
        await set_quotas(container, DEFAULT_PROJECT_ID, security_groups=1, security_group_rules=3)
        web = await new_group(client)
        assert_problem(await client.post(SG, json={"name": "db"}), 403, "quota_exceeded")
        assert (await add_rule(client, web["id"], **SSH)).status_code == 202
        over = await add_rule(client, web["id"], direction="ingress", protocol="icmp")
        assert_problem(over, 403, "quota_exceeded")
        quota = (await client.get(f"/api/v1/projects/{DEFAULT_PROJECT_ID}/quotas")).json()
        assert quota["quotas"]["security_groups"] == {"limit": 1, "in_use": 1}
        assert quota["quotas"]["security_group_rules"] == {"limit": 3, "in_use": 3}

    async def test_starting_rules_count(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        await set_quotas(container, DEFAULT_PROJECT_ID, security_group_rules=1)
        default = next(g for g in await groups(client) if g["name"] == "default")
        # A new group brings 2 egress rules: one over the limit.
        assert_problem(await client.post(SG, json={"name": "web"}), 403, "quota_exceeded")
        # Rules a user adds to the default group do count.
        assert (await add_rule(client, default["id"], **SSH)).status_code == 202
        over = await add_rule(client, default["id"], direction="ingress", protocol="icmp")
        assert_problem(over, 403, "quota_exceeded")


async def provider_id_of(container: Container, group_id: str) -> str:
    async with SecurityGroupUoW(container.sessionmaker) as uow:
        group = await uow.groups.get_unscoped(group_id)
        assert group is not None and group.provider_id is not None
        return group.provider_id


async def settle_all(container: Container) -> None:
    """Drain the worker until no operation waits for another (a rule waits for its group)."""
    for _ in range(50):
        await container.runner.drain()
        async with SecurityGroupUoW(container.sessionmaker) as uow:
            pending = await uow.session.scalar(
                select(func.count())
                .select_from(Operation)
                .where(Operation.state == OpState.PENDING)
            )
        if not pending:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("operations still pending")


class TestWorker:
    async def test_everything_reaches_the_cloud(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        web, db = await new_group(client, "web"), await new_group(client, "db")
        assert (await add_rule(client, web["id"], **SSH)).status_code == 202
        remote = await add_rule(
            client,
            db["id"],
            direction="ingress",
            protocol="tcp",
            port_range_min=5432,
            port_range_max=5432,
            remote_group_id=web["id"],
        )
        assert remote.status_code == 202, remote.text
        await settle_all(container)
        listed = await groups(client)
        assert len(listed) == 3
        cloud = {g.id: g for g in await container.provider.network.security_groups()}
        for group in listed:
            assert group["status"] == "ACTIVE", group
            pid = await provider_id_of(container, group["id"])
            assert pid in cloud
            assert len(cloud[pid].rules) == len(group["rules"])
            for rule in group["rules"]:
                assert rule["status"] == "ACTIVE", rule
        # The default group was adopted, not made twice.
        found = await container.provider.network.find_security_group(
            "default", project_id=DEFAULT_PROJECT_ID
        )
        default = next(g for g in listed if g["default"])
        assert found is not None and found.id == await provider_id_of(container, default["id"])
        web_pid = await provider_id_of(container, web["id"])
        db_rules = cloud[await provider_id_of(container, db["id"])].rules
        assert any(r.remote_group_id == web_pid and r.port_range_min == 5432 for r in db_rules)

    async def test_retried_rule_create_adopts(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        group = await new_group(client)
        await settle_all(container)
        pid = await provider_id_of(container, group["id"])
        # The cloud already has the rule (an earlier attempt made it before a crash).
        made = await container.provider.network.create_security_group_rule(
            RuleSpec(
                pid,
                "ingress",
                protocol="tcp",
                port_range_min=22,
                port_range_max=22,
                remote_ip_prefix="0.0.0.0/0",
            )
        )
        rule = (await add_rule(client, group["id"], **SSH)).json()
        await settle_all(container)
        async with SecurityGroupUoW(container.sessionmaker) as uow:
            row = await uow.groups.rule_unscoped(rule["id"])
            assert row is not None and row.provider_id == made.id

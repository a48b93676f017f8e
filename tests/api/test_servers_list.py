"""GET /api/v1/vms: filters, sorting, page/per_page, keyset cursors, soft-deleted rows."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import httpx
import pytest
from tests.builders import (
    act,
    assert_problem,
    create_server,
    gone,
    server_in,
)

from stackgate.bootstrap import Container

pytestmark = pytest.mark.dialects


async def listed(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/vms", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def names(client: httpx.AsyncClient, **params: Any) -> list[str]:
    return [s["name"] for s in (await listed(client, per_page=100, **params))["items"]]


async def fleet(client: httpx.AsyncClient, container: Container) -> dict[str, str]:
    """Four servers: alpha ACTIVE/m1.small, beta SHUTOFF/m1.tiny, gamma ACTIVE/debian,
    delta BUILD (created last, not driven)."""
    ids = {
        "alpha": (await create_server(client, name="alpha-web"))["id"],
        "beta": (await create_server(client, name="beta-db", flavor="m1.tiny"))["id"],
        "gamma": (await create_server(client, name="gamma-web", image="debian-12"))["id"],
    }
    await container.runner.drain()
    assert (await act(client, ids["beta"], "stop")).status_code == 202
    await container.runner.drain()
    ids["delta"] = (await create_server(client, name="delta-cache"))["id"]
    return ids


class TestFilters:
    async def test_by_status_and_aliases(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        await fleet(client, container)
        assert sorted(await names(client, status="ACTIVE")) == ["alpha-web", "gamma-web"]
        assert await names(client, status="RUNNING") == await names(client, status="ACTIVE")
        assert await names(client, status="SHUTOFF") == ["beta-db"]
        assert await names(client, status="STOPPED") == ["beta-db"]
        assert await names(client, status="BUILD") == ["delta-cache"]
        assert await names(client, status="PAUSED") == []

    async def test_unknown_status_is_refused(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get("/api/v1/vms", params={"status": "BANANA"}), 422)

    async def test_by_name_substring(self, client: httpx.AsyncClient, container: Container) -> None:
        await fleet(client, container)
        assert sorted(await names(client, name="web")) == ["alpha-web", "gamma-web"]
        assert await names(client, name="DB") == ["beta-db"]
        assert await names(client, name="nomatch") == []

    async def test_name_wildcards_are_literal(self, client: httpx.AsyncClient) -> None:
        for name in ("100%", "a_b", "axb", "back\\slash"):
            await create_server(client, name=name)
        assert await names(client, name="%") == ["100%"]
        assert await names(client, name="_") == ["a_b"]
        assert await names(client, name="\\") == ["back\\slash"]

    async def test_by_flavor_and_image(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        await fleet(client, container)
        tiny = (await client.get("/api/v1/flavors/m1.tiny")).json()
        assert await names(client, flavor="m1.tiny") == ["beta-db"]
        assert await names(client, flavor=tiny["id"]) == ["beta-db"]
        assert await names(client, image="debian-12") == ["gamma-web"]
        assert sorted(await names(client, image="cirros-0.6", status="ACTIVE")) == ["alpha-web"]
        assert await names(client, flavor="m1.xlarge") == []


class TestSort:
    @pytest.mark.parametrize(
        ("sort", "expected"),
        [
            ("name", ["alpha-web", "beta-db", "delta-cache", "gamma-web"]),
            ("-name", ["gamma-web", "delta-cache", "beta-db", "alpha-web"]),
            ("created_at", ["alpha-web", "beta-db", "gamma-web", "delta-cache"]),
            ("-created_at", ["delta-cache", "gamma-web", "beta-db", "alpha-web"]),
        ],
    )
    async def test_sorts(
        self, client: httpx.AsyncClient, container: Container, sort: str, expected: list[str]
    ) -> None:
        await fleet(client, container)
        assert await names(client, sort=sort) == expected

    async def test_default_is_newest_first(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        await fleet(client, container)
        assert (await names(client))[0] == "delta-cache"

    async def test_by_updated_at(self, client: httpx.AsyncClient, container: Container) -> None:
        ids = await fleet(client, container)
        await client.patch(f"/api/v1/vms/{ids['alpha']}", json={"description": "touched"})
        items = (await listed(client, sort="-updated_at"))["items"]
        assert items[0]["id"] == ids["alpha"]
        stamps = [datetime.fromisoformat(s["updated_at"].replace("Z", "+00:00")) for s in items]
        assert stamps == sorted(stamps, reverse=True)

    async def test_by_status(self, client: httpx.AsyncClient, container: Container) -> None:
        await fleet(client, container)
        statuses = [s["status"] for s in (await listed(client, sort="status"))["items"]]
        assert statuses == sorted(statuses)
        statuses = [s["status"] for s in (await listed(client, sort="-status"))["items"]]
        assert statuses == sorted(statuses, reverse=True)

    @pytest.mark.parametrize(
        "sort", ["bogus", "-", "--name", "name;drop table server", "user_data"]
    )
    async def test_bad_sort_is_400(self, client: httpx.AsyncClient, sort: str) -> None:
        problem = assert_problem(
            await client.get("/api/v1/vms", params={"sort": sort}), 400, "invalid_sort"
        )
        assert "name" in problem["detail"]


class TestPages:
    async def test_page_and_per_page_with_total(self, client: httpx.AsyncClient) -> None:
        for i in range(7):
            await create_server(client, name=f"s{i}")
        seen: list[str] = []
        for page in (1, 2, 3):
            body = await listed(client, sort="name", page=page, per_page=3)
            assert (body["total"], body["page"], body["per_page"]) == (7, page, 3)
            seen += [s["name"] for s in body["items"]]
        assert seen == [f"s{i}" for i in range(7)]
        assert (await listed(client, page=4, per_page=3))["items"] == []

    @pytest.mark.parametrize(
        "params",
        [
            {"per_page": 0},
            {"per_page": 10**9},
            {"per_page": -1},
            {"per_page": "ten"},
            {"page": 0},
            {"page": -5},
            {"limit": 0},
            {"limit": -1},
            {"limit": "abc"},
            {"limit": 10**9},
        ],
    )
    async def test_bad_sizes_are_422(self, client: httpx.AsyncClient, params: Any) -> None:
        assert_problem(await client.get("/api/v1/vms", params=params), 422, "validation_error")

    @pytest.mark.parametrize("sort", ["name", "-name", "created_at", "-created_at", "status"])
    async def test_cursor_walks_every_row_once(
        self, client: httpx.AsyncClient, container: Container, sort: str
    ) -> None:
        for i in range(11):
            # Repeated names and same-status rows exercise the id tie-break.
            await create_server(client, name=f"node-{i % 4}")
        await container.runner.drain()
        for i in range(2):
            await create_server(client, name=f"late-{i}")
        expected = [s["id"] for s in (await listed(client, sort=sort, per_page=100))["items"]]
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(20):
            params: dict[str, Any] = {"sort": sort, "limit": 3}
            if cursor:
                params["cursor"] = cursor
            body = await listed(client, **params)
            assert len(body["items"]) <= 3
            seen += [s["id"] for s in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == expected
        assert len(set(seen)) == 13

    async def test_exact_multiple_ends_without_a_cursor(self, client: httpx.AsyncClient) -> None:
        for i in range(4):
            await create_server(client, name=f"n{i}")
        first = await listed(client, sort="name", limit=2)
        second = await listed(client, sort="name", limit=2, cursor=first["next_cursor"])
        assert [s["name"] for s in second["items"]] == ["n2", "n3"]
        assert second["next_cursor"] is None

    @pytest.mark.parametrize("cursor", ["garbage", "!!!", "eyJub3QiOiJhIGxpc3QifQ", "W10"])
    async def test_bad_cursor_is_400(self, client: httpx.AsyncClient, cursor: str) -> None:
        problem = assert_problem(
            await client.get("/api/v1/vms", params={"cursor": cursor}), 400, "invalid_cursor"
        )
        assert problem["field"] == "cursor"

    async def test_cursor_of_another_sort_is_400(self, client: httpx.AsyncClient) -> None:
        for i in range(3):
            await create_server(client, name=f"n{i}")
        cursor = (await listed(client, sort="name", limit=1))["next_cursor"]
        assert cursor
        response = await client.get("/api/v1/vms", params={"sort": "-name", "cursor": cursor})
        assert_problem(response, 400, "invalid_cursor")

    @pytest.mark.parametrize(
        ("sort", "value"),
        [
            ("-created_at", "not-a-date"),
            ("-created_at", 12345),
            ("-created_at", None),
            ("created_at", ["2024-01-01T00:00:00"]),
            ("name", {"a": 1}),
            ("name", 7),
            ("status", True),
            ("name", "web\x00"),
        ],
    )
    async def test_forged_cursor_value_is_400_not_500(
        self, client: httpx.AsyncClient, sort: str, value: Any
    ) -> None:
        await create_server(client)
        raw = json.dumps([sort, value, "00000000-0000-0000-0000-000000000000"]).encode()
        forged = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        response = await client.get("/api/v1/vms", params={"sort": sort, "cursor": forged})
        assert_problem(response, 400, "invalid_cursor")

    async def test_forged_cursor_id_is_400_not_500(self, client: httpx.AsyncClient) -> None:
        await create_server(client)
        for row_id in ("\x00", 5, None):
            raw = json.dumps(["name", "web", row_id]).encode()
            forged = base64.urlsafe_b64encode(raw).decode().rstrip("=")
            response = await client.get("/api/v1/vms", params={"sort": "name", "cursor": forged})
            assert_problem(response, 400, "invalid_cursor")

    @pytest.mark.parametrize("param", ["name", "flavor", "image", "cursor", "sort"])
    async def test_nul_in_a_query_parameter_is_400(
        self, client: httpx.AsyncClient, param: str
    ) -> None:
        response = await client.get("/api/v1/vms", params={param: "web\x00"})
        assert response.status_code in (400, 422), response.text
        assert_problem(response, response.status_code)


# A DELETED server is gone, as in Nova: every verb answers 404, except its action log (Nova
# 2.21 keeps it) and the cloud admin's status=DELETED listing (403 for others, as Nova says).
DELETED_SERVER_VERBS = [
    ("GET", "", None, 404),
    ("PATCH", "", {"name": "zombie"}, 404),
    ("DELETE", "", None, 404),
    ("POST", "/actions/start", None, 404),
    ("POST", "/actions/reboot", {"type": "HARD"}, 404),
    ("POST", "/actions/add-security-group", {"name": "default"}, 404),
    ("POST", "/actions/remove-security-group", {"name": "default"}, 404),
    ("GET", "/snapshots", None, 404),
    ("POST", "/snapshots", {"name": "s"}, 404),
    ("GET", "/volumes", None, 404),
    ("POST", "/volumes", {"volume_id": "00000000-0000-0000-0000-000000000000"}, 404),
    ("DELETE", "/volumes/00000000-0000-0000-0000-000000000000", None, 404),
    ("GET", "/actions", None, 200),
]


class TestDeletedServer:
    async def test_deleted_leaves_lists_and_is_gone(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        keep = await server_in(client, container, "ACTIVE", name="keep")
        doomed = await server_in(client, container, "ACTIVE", name="gone")
        accepted = await client.delete(f"/api/v1/vms/{doomed['id']}")
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["task_state"] == "deleting"
        assert accepted.json()["status"] == "ACTIVE"
        row = await gone(client, container, doomed["id"])
        assert (row["status"], row["task_state"]) == ("DELETED", None)
        assert row["deleted_at"] is not None
        body = await listed(client)
        assert [s["id"] for s in body["items"]] == [keep["id"]]
        assert body["total"] == 1

    @pytest.mark.parametrize(
        ("method", "suffix", "body", "status"),
        DELETED_SERVER_VERBS,
        ids=[f"{m} {p or '/'}" for m, p, _, _ in DELETED_SERVER_VERBS],
    )
    async def test_every_verb_on_a_deleted_server(
        self,
        admin_client: httpx.AsyncClient,
        client: httpx.AsyncClient,
        container: Container,
        method: str,
        suffix: str,
        body: dict[str, Any] | None,
        status: int,
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        assert (await client.delete(f"/api/v1/vms/{server['id']}")).status_code == 202
        await gone(client, container, server["id"])
        # The owner and the cloud admin (who reaches every project's servers) alike.
        for http in (client, admin_client):
            response = await http.request(method, f"/api/v1/vms/{server['id']}{suffix}", json=body)
            if status == 404:
                assert_problem(response, 404, "not_found")
            else:
                assert response.status_code == status, response.text
        row = await gone(client, container, server["id"])
        assert row["status"] == "DELETED"

    async def test_the_action_log_of_a_deleted_server_stays(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        await client.delete(f"/api/v1/vms/{server['id']}")
        await gone(client, container, server["id"])
        log = await client.get(f"/api/v1/vms/{server['id']}/actions")
        assert [a["action"] for a in log.json()["items"]] == ["delete", "create"]

    async def test_only_the_admin_lists_deleted_servers(
        self, admin_client: httpx.AsyncClient, client: httpx.AsyncClient, container: Container
    ) -> None:
        mine = await server_in(admin_client, container, "ACTIVE", name="admins")
        await admin_client.delete(f"/api/v1/vms/{mine['id']}")
        await gone(admin_client, container, mine["id"])
        deleted = await listed(admin_client, status="DELETED")
        assert [(s["id"], s["status"]) for s in deleted["items"]] == [(mine["id"], "DELETED")]
        refused = await client.get("/api/v1/vms", params={"status": "DELETED"})
        problem = assert_problem(refused, 403, "deleted_servers_admin_only")
        assert "/actions" in problem["detail"]

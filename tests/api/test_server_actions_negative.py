"""Refused actions: invalid transitions, busy and locked servers, unknown servers, bad bodies
(Tempest R5-R8)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.builders import act, assert_problem, create_server, server_in, settle

from stackgate.bootstrap import Container

# (status, action, body): each must answer 409 invalid_state_transition (R6).
INVALID: list[tuple[str, str, dict[str, Any] | None]] = [
    ("ACTIVE", "start", None),
    ("ACTIVE", "unpause", None),
    ("ACTIVE", "resume", None),
    ("ACTIVE", "unshelve", None),
    ("ACTIVE", "confirm-resize", None),
    ("ACTIVE", "revert-resize", None),
    ("SHUTOFF", "stop", None),
    ("SHUTOFF", "reboot", None),
    ("SHUTOFF", "reboot", {"type": "SOFT"}),
    ("SHUTOFF", "pause", None),
    ("SHUTOFF", "suspend", None),
    ("PAUSED", "pause", None),
    ("PAUSED", "stop", None),
    ("PAUSED", "suspend", None),
    ("PAUSED", "resize", {"flavor": "m1.medium"}),
    ("SUSPENDED", "suspend", None),
    ("SUSPENDED", "pause", None),
    ("SUSPENDED", "unpause", None),
    ("SHELVED_OFFLOADED", "shelve", None),
    ("SHELVED_OFFLOADED", "start", None),
    ("SHELVED_OFFLOADED", "reboot", {"type": "HARD"}),
    ("VERIFY_RESIZE", "resize", {"flavor": "m1.large"}),
    ("VERIFY_RESIZE", "stop", None),
]


def _label(case: tuple[Any, ...]) -> str:
    body = case[2]
    return f"{case[0]}-{case[1]}" + (f"-{next(iter(body.values()))}" if body else "")


class TestInvalidTransitions:
    @pytest.mark.parametrize("case", INVALID, ids=_label)
    async def test_is_409_and_changes_nothing(
        self, client: httpx.AsyncClient, container: Container, case: tuple[Any, ...]
    ) -> None:
        status, action, body = case
        server = await server_in(client, container, status)
        response = await act(client, server["id"], action, body)
        problem = assert_problem(response, 409, "invalid_state_transition")
        assert problem["current_status"] == status
        assert isinstance(problem["allowed_actions"], list)
        if action != "reboot":  # a SHUTOFF server still takes a HARD reboot
            assert action not in problem["allowed_actions"]
        assert "delete" in problem["allowed_actions"]
        assert status in problem["detail"]
        after = (await client.get(f"/api/v1/vms/{server['id']}")).json()
        assert after == server
        assert await container.runner.run_once() == 0

    async def test_allowed_actions_are_really_allowed(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "SHUTOFF")
        problem = (await act(client, server["id"], "pause")).json()
        assert {"start", "reboot", "rebuild", "resize", "shelve", "snapshot"} <= set(
            problem["allowed_actions"]
        )
        assert not {"stop", "pause", "unpause", "resume"} & set(problem["allowed_actions"])
        assert (await act(client, server["id"], "start")).status_code == 202

    async def test_a_deleted_server_refuses_actions(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        await client.delete(f"/api/v1/vms/{server['id']}")
        await settle(client, container, server["id"])
        for action, body in (("reboot", None), ("rebuild", {"image": "debian-12"}), ("lock", None)):
            response = await act(client, server["id"], action, body)
            assert response.status_code in (404, 409), response.text
            assert_problem(response, response.status_code)


class TestBusy:
    async def test_second_action_while_a_task_runs_is_409(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        assert (await act(client, server["id"], "stop")).status_code == 202
        for action in ("stop", "reboot", "pause", "suspend", "shelve"):
            problem = assert_problem(
                await act(client, server["id"], action), 409, "invalid_state_transition"
            )
            assert problem["task_state"] == "powering-off"
            assert problem["current_status"] == "ACTIVE"
        snapshot = await client.post(f"/api/v1/vms/{server['id']}/snapshots", json={"name": "s"})
        assert_problem(snapshot, 409, "invalid_state_transition")
        assert (await settle(client, container, server["id"]))["status"] == "SHUTOFF"

    async def test_actions_while_building_are_409(self, client: httpx.AsyncClient) -> None:
        server = await create_server(client)
        for action in ("stop", "reboot", "resize"):
            body = {"flavor": "m1.large"} if action == "resize" else None
            problem = assert_problem(
                await act(client, server["id"], action, body), 409, "invalid_state_transition"
            )
            assert problem["current_status"] == "BUILD"

    async def test_a_hard_reboot_may_override_a_soft_one(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        assert (await act(client, server["id"], "reboot")).status_code == 202
        hard = await act(client, server["id"], "reboot", {"type": "HARD"})
        assert hard.status_code == 202, hard.text
        assert hard.json()["status"] == "HARD_REBOOT"
        assert (await settle(client, container, server["id"]))["status"] == "ACTIVE"


class TestLocked:
    @pytest.mark.parametrize("action", ["stop", "reboot", "pause", "shelve"])
    async def test_locked_server_refuses_actions(
        self, client: httpx.AsyncClient, container: Container, action: str
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        assert (await act(client, server["id"], "lock")).status_code == 202
        problem = assert_problem(await act(client, server["id"], action), 409, "server_locked")
        assert "locked" in problem["detail"]
        assert (await client.get(f"/api/v1/vms/{server['id']}")).json()["status"] == "ACTIVE"

    async def test_locked_server_refuses_delete(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        await act(client, server["id"], "lock")
        assert_problem(await client.delete(f"/api/v1/vms/{server['id']}"), 409, "server_locked")
        await container.runner.drain()
        assert (await client.get(f"/api/v1/vms/{server['id']}")).json()["status"] == "ACTIVE"

    async def test_locked_server_allows_snapshot_and_unlock(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        await act(client, server["id"], "lock")
        snap = await client.post(f"/api/v1/vms/{server['id']}/snapshots", json={"name": "s1"})
        assert snap.status_code == 202, snap.text
        await settle(client, container, server["id"])
        assert (await act(client, server["id"], "unlock")).status_code == 202
        assert (await client.delete(f"/api/v1/vms/{server['id']}")).status_code == 202


MISSING_IDS = [
    "00000000-0000-0000-0000-000000000000",
    "not-a-uuid",
    "-1",
    "1",
    "x" * 1000,
    "%00",
    "' OR '1'='1",
]


class TestNotFound:
    @pytest.mark.parametrize("server_id", MISSING_IDS)
    async def test_unknown_server_is_404_everywhere(
        self, client: httpx.AsyncClient, server_id: str
    ) -> None:
        base = f"/api/v1/vms/{server_id}"
        calls = [
            client.get(base),
            client.patch(base, json={"name": "x"}),
            client.delete(base),
            client.post(f"{base}/actions/stop"),
            client.post(f"{base}/actions/reboot", json={"type": "HARD"}),
            client.post(f"{base}/actions/resize", json={"flavor": "m1.large"}),
            client.post(f"{base}/actions/resume"),
            client.get(f"{base}/actions"),
            client.post(f"{base}/snapshots", json={"name": "s"}),
            client.get(f"{base}/snapshots"),
        ]
        for call in calls:
            response = await call
            problem = assert_problem(response, 404, "not_found")
            assert "server" in problem["detail"]

    async def test_unknown_action_name_is_refused(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        response = await act(client, server["id"], "explode")
        assert response.status_code in (404, 422), response.text
        assert_problem(response, response.status_code)


class TestBadBodies:
    async def test_resize_to_the_same_flavor_is_400(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE", flavor="m1.small")
        for ref in ("m1.small", server["flavor"]["id"]):
            problem = assert_problem(
                await act(client, server["id"], "resize", {"flavor": ref}),
                400,
                "resize_same_flavor",
            )
            assert problem["field"] == "flavor"

    @pytest.mark.parametrize("body", [None, {}, {"flavor": None}])
    async def test_resize_without_a_flavor_is_400(
        self, client: httpx.AsyncClient, container: Container, body: dict[str, Any] | None
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        problem = assert_problem(await act(client, server["id"], "resize", body), 400)
        assert problem["field"] == "flavor"

    async def test_resize_to_an_unknown_flavor_is_400(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        problem = assert_problem(
            await act(client, server["id"], "resize", {"flavor": "m9.huge"}),
            400,
            "unknown_reference",
        )
        assert problem["field"] == "flavor"
        assert "flavor" in problem["detail"]

    async def test_rebuild_with_an_unknown_image_is_400(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        problem = assert_problem(
            await act(client, server["id"], "rebuild", {"image": "windows-95"}),
            400,
            "unknown_reference",
        )
        assert problem["field"] == "image"

    @pytest.mark.parametrize(
        ("action", "body", "field"),
        [
            ("stop", {"flavor": "m1.large"}, "flavor"),
            ("start", {"image": "debian-12"}, "image"),
            ("pause", {"type": "HARD"}, "type"),
            ("reboot", {"flavor": "m1.large"}, "flavor"),
            ("resize", {"flavor": "m1.large", "image": "debian-12"}, "image"),
        ],
    )
    async def test_a_field_the_action_does_not_take_is_400(
        self,
        client: httpx.AsyncClient,
        container: Container,
        action: str,
        body: dict[str, Any],
        field: str,
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        problem = assert_problem(await act(client, server["id"], action, body), 400)
        assert problem["field"] == field
        assert field in problem["detail"]
        assert (await client.get(f"/api/v1/vms/{server['id']}")).json() == server

    @pytest.mark.parametrize(
        "body", [{"type": "MEDIUM"}, {"type": "soft"}, {"bogus": 1}, {"type": 1}]
    )
    async def test_malformed_action_body_is_422(
        self, client: httpx.AsyncClient, container: Container, body: dict[str, Any]
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        assert_problem(await act(client, server["id"], "reboot", body), 422, "validation_error")

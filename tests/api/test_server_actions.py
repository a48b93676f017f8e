"""POST /api/v1/vms/{id}/actions/{action}: each action's 202, its task, and where it ends."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.builders import act, assert_problem, gone, server_in, settle

from stackgate.bootstrap import Container

# (from status, action, body, status while working, task while working, end status, power)
# A hard reboot shows HARD_REBOOT only from vm_state active (Nova's _STATE_MAP).
TRANSITIONS: list[tuple[str, str, dict[str, Any] | None, str, str | None, str, int]] = [
    ("ACTIVE", "stop", None, "ACTIVE", "powering-off", "SHUTOFF", 4),
    ("SHUTOFF", "start", None, "SHUTOFF", "powering-on", "ACTIVE", 1),
    ("ACTIVE", "reboot", None, "REBOOT", "rebooting", "ACTIVE", 1),
    ("ACTIVE", "reboot", {"type": "SOFT"}, "REBOOT", "rebooting", "ACTIVE", 1),
    ("ACTIVE", "reboot", {"type": "HARD"}, "HARD_REBOOT", "rebooting_hard", "ACTIVE", 1),
    ("SHUTOFF", "reboot", {"type": "HARD"}, "SHUTOFF", "rebooting_hard", "ACTIVE", 1),
    ("PAUSED", "reboot", {"type": "HARD"}, "PAUSED", "rebooting_hard", "ACTIVE", 1),
    ("SUSPENDED", "reboot", {"type": "HARD"}, "SUSPENDED", "rebooting_hard", "ACTIVE", 1),
    ("ACTIVE", "restart", None, "REBOOT", "rebooting", "ACTIVE", 1),
    ("ACTIVE", "pause", None, "ACTIVE", "pausing", "PAUSED", 3),
    ("PAUSED", "unpause", None, "PAUSED", "unpausing", "ACTIVE", 1),
    ("ACTIVE", "suspend", None, "ACTIVE", "suspending", "SUSPENDED", 7),
    ("SUSPENDED", "resume", None, "SUSPENDED", "resuming", "ACTIVE", 1),
    ("PAUSED", "resume", None, "PAUSED", "unpausing", "ACTIVE", 1),
    ("ACTIVE", "rebuild", {"image": "debian-12"}, "REBUILD", "rebuilding", "ACTIVE", 1),
    ("SHUTOFF", "rebuild", {"image": "debian-12"}, "REBUILD", "rebuilding", "SHUTOFF", 4),
    ("ACTIVE", "shelve", None, "ACTIVE", "shelving", "SHELVED_OFFLOADED", 4),
    ("SHUTOFF", "shelve", None, "SHUTOFF", "shelving", "SHELVED_OFFLOADED", 4),
    ("PAUSED", "shelve", None, "PAUSED", "shelving", "SHELVED_OFFLOADED", 4),
    ("SHELVED_OFFLOADED", "unshelve", None, "SHELVED_OFFLOADED", "unshelving", "ACTIVE", 1),
    ("ACTIVE", "resize", {"flavor": "m1.medium"}, "RESIZE", "resize_prep", "VERIFY_RESIZE", 1),
    ("SHUTOFF", "resize", {"flavor": "m1.medium"}, "RESIZE", "resize_prep", "VERIFY_RESIZE", 4),
    ("VERIFY_RESIZE", "confirm-resize", None, "VERIFY_RESIZE", "resize_confirming", "ACTIVE", 1),
    ("VERIFY_RESIZE", "revert-resize", None, "REVERT_RESIZE", "resize_reverting", "ACTIVE", 1),
]


def _label(case: tuple[Any, ...]) -> str:
    start, action, body = case[0], case[1], case[2]
    return f"{start}-{action}" + (f"-{next(iter(body.values()))}" if body else "")


class TestTransitions:
    @pytest.mark.parametrize("case", TRANSITIONS, ids=_label)
    async def test_action(
        self, client: httpx.AsyncClient, container: Container, case: tuple[Any, ...]
    ) -> None:
        start, action, body, working, task, end, power = case
        server = await server_in(client, container, start)
        response = await act(client, server["id"], action, body)
        assert response.status_code == 202, response.text
        assert response.headers["location"] == f"/api/v1/vms/{server['id']}"
        accepted = response.json()
        assert (accepted["status"], accepted["task_state"]) == (working, task)
        assert accepted["version"] > server["version"]
        shown = (await client.get(f"/api/v1/vms/{server['id']}")).json()
        assert (shown["status"], shown["task_state"]) == (working, task)
        done = await settle(client, container, server["id"])
        assert done["status"] == end, done
        assert done["task_state"] is None
        assert done["power_state"] == power
        assert done["fault"] is None


class TestResize:
    async def test_confirm_keeps_the_new_flavor(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "VERIFY_RESIZE", flavor="m1.small")
        assert server["flavor"]["name"] == "m1.medium"
        assert server["flavor"]["vcpus"] == 2
        assert (await act(client, server["id"], "confirm-resize")).status_code == 202
        done = await settle(client, container, server["id"])
        assert done["status"] == "ACTIVE"
        assert (done["flavor"]["name"], done["flavor"]["vcpus"]) == ("m1.medium", 2)
        assert done["flavor"]["ram_mb"] == 4096

    async def test_revert_restores_the_old_flavor(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "VERIFY_RESIZE", flavor="m1.small")
        before = (await client.get("/api/v1/flavors/m1.small")).json()
        assert (await act(client, server["id"], "revert-resize")).status_code == 202
        done = await settle(client, container, server["id"])
        assert done["status"] == "ACTIVE"
        assert done["flavor"] == {
            k: before[k] for k in ("id", "name", "vcpus", "ram_mb", "disk_gb")
        }

    async def test_a_stopped_server_ends_stopped(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "SHUTOFF")
        assert (await act(client, server["id"], "resize", {"flavor": "m1.large"})).is_success
        await settle(client, container, server["id"])
        assert (await act(client, server["id"], "confirm-resize")).status_code == 202
        done = await settle(client, container, server["id"])
        assert (done["status"], done["power_state"]) == ("SHUTOFF", 4)
        assert done["flavor"]["name"] == "m1.large"

    async def test_revert_of_a_stopped_server_ends_stopped(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "SHUTOFF", flavor="m1.small")
        assert (await act(client, server["id"], "resize", {"flavor": "m1.large"})).is_success
        assert (await settle(client, container, server["id"]))["status"] == "VERIFY_RESIZE"
        assert (await act(client, server["id"], "revert-resize")).status_code == 202
        done = await settle(client, container, server["id"])
        assert (done["status"], done["power_state"]) == ("SHUTOFF", 4)
        assert done["flavor"]["name"] == "m1.small"

    async def test_resize_by_flavor_id(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        large = (await client.get("/api/v1/flavors/m1.large")).json()
        assert (await act(client, server["id"], "resize", {"flavor": large["id"]})).is_success
        done = await settle(client, container, server["id"])
        assert done["status"] == "VERIFY_RESIZE"
        assert done["flavor"]["id"] == large["id"]


class TestRebuild:
    async def test_rebuild_records_the_new_image(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        assert server["image"]["name"] == "cirros-0.6"
        assert (await act(client, server["id"], "rebuild", {"image": "debian-12"})).is_success
        done = await settle(client, container, server["id"])
        assert done["image"]["name"] == "debian-12"
        assert done["ip_address"] == server["ip_address"]

    async def test_rebuild_without_an_image_reuses_the_current_one(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        assert (await act(client, server["id"], "rebuild")).status_code == 202
        done = await settle(client, container, server["id"])
        assert (done["status"], done["image"]) == ("ACTIVE", server["image"])


class TestLock:
    async def test_lock_and_unlock_take_effect_at_once(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        locked = await act(client, server["id"], "lock", {"reason": "maintenance"})
        assert locked.status_code == 202, locked.text
        assert locked.json()["locked"] is True
        assert locked.json()["locked_reason"] == "maintenance"
        assert locked.json()["task_state"] is None
        shown = (await client.get(f"/api/v1/vms/{server['id']}")).json()
        assert shown["locked"] is True
        unlocked = await act(client, server["id"], "unlock")
        assert unlocked.status_code == 202, unlocked.text
        assert unlocked.json()["locked"] is False
        assert unlocked.json()["locked_reason"] is None
        assert (await client.get(f"/api/v1/vms/{server['id']}")).json()["locked"] is False

    async def test_lock_reason_is_bounded(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        too_long = await act(client, server["id"], "lock", {"reason": "r" * 256})
        assert too_long.status_code == 422, too_long.text
        assert (await client.get(f"/api/v1/vms/{server['id']}")).json()["locked"] is False
        longest = await act(client, server["id"], "lock", {"reason": "r" * 255})
        assert longest.status_code == 202, longest.text
        assert longest.json()["locked_reason"] == "r" * 255

    async def test_an_unlocked_server_acts_again(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        await act(client, server["id"], "lock")
        assert (await act(client, server["id"], "stop")).status_code == 409
        await act(client, server["id"], "unlock")
        assert (await act(client, server["id"], "stop")).status_code == 202
        assert (await settle(client, container, server["id"]))["status"] == "SHUTOFF"

    async def test_lock_works_while_building(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        response = await client.post(
            "/api/v1/vms", json={"name": "w", "flavor": "m1.tiny", "image": "cirros-0.6"}
        )
        server_id = response.json()["id"]
        assert (await act(client, server_id, "lock")).status_code == 202
        done = await settle(client, container, server_id)
        assert (done["status"], done["locked"]) == ("ACTIVE", True)


class TestDelete:
    @pytest.mark.parametrize(
        "status", ["SHUTOFF", "PAUSED", "SUSPENDED", "SHELVED_OFFLOADED", "VERIFY_RESIZE"]
    )
    async def test_delete_from_any_status(
        self, client: httpx.AsyncClient, container: Container, status: str
    ) -> None:
        server = await server_in(client, container, status)
        response = await client.delete(f"/api/v1/vms/{server['id']}")
        assert response.status_code == 202, response.text
        assert (response.json()["status"], response.json()["task_state"]) == (status, "deleting")
        done = await gone(client, container, server["id"])
        assert (done["status"], done["task_state"], done["power_state"]) == ("DELETED", None, 0)

    async def test_delete_while_a_task_runs(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        assert (await act(client, server["id"], "stop")).status_code == 202
        response = await client.delete(f"/api/v1/vms/{server['id']}")
        assert response.status_code == 202, response.text
        assert response.json()["task_state"] == "deleting"
        done = await gone(client, container, server["id"])
        assert done["status"] == "DELETED"
        assert done["deleted_at"] is not None

    async def test_delete_during_build(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        response = await client.post(
            "/api/v1/vms", json={"name": "w", "flavor": "m1.tiny", "image": "cirros-0.6"}
        )
        server_id = response.json()["id"]
        assert (await client.delete(f"/api/v1/vms/{server_id}")).status_code == 202
        assert (await gone(client, container, server_id))["status"] == "DELETED"

    async def test_delete_twice_is_harmless_then_gone(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await server_in(client, container, "ACTIVE")
        first = await client.delete(f"/api/v1/vms/{server['id']}")
        second = await client.delete(f"/api/v1/vms/{server['id']}")
        assert (first.status_code, second.status_code) == (202, 202)
        await gone(client, container, server["id"])
        third = await client.delete(f"/api/v1/vms/{server['id']}")
        assert_problem(third, 404, "not_found")
        actions = (await client.get(f"/api/v1/vms/{server['id']}/actions")).json()["items"]
        assert [a["action"] for a in actions].count("delete") == 1

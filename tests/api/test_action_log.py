"""GET /api/v1/vms/{id}/actions: Nova's instance action log, one entry per accepted request."""

from __future__ import annotations

from datetime import datetime

import httpx
from tests.builders import act, settle

from stackgate.bootstrap import Container


def when(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def log_of(client: httpx.AsyncClient, server_id: str) -> list[dict[str, object]]:
    response = await client.get(f"/api/v1/vms/{server_id}/actions")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


class TestActionLog:
    async def test_every_action_is_logged_with_its_request_id(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        created = await client.post(
            "/api/v1/vms",
            json={"name": "logged", "flavor": "m1.small", "image": "cirros-0.6"},
            headers={"X-Request-ID": "req-create-1"},
        )
        server_id = created.json()["id"]
        await container.runner.drain()
        steps = [
            ("stop", None),
            ("start", None),
            ("reboot", {"type": "HARD"}),
            ("pause", None),
            ("unpause", None),
            ("suspend", None),
            ("resume", None),
            ("resize", {"flavor": "m1.medium"}),
            ("confirm-resize", None),
            ("rebuild", {"image": "debian-12"}),
            ("shelve", None),
            ("unshelve", None),
            ("lock", None),
            ("unlock", None),
        ]
        for i, (action, body) in enumerate(steps):
            response = await client.post(
                f"/api/v1/vms/{server_id}/actions/{action}",
                json=body,
                headers={"X-Request-ID": f"req-{i}-{action}"},
            )
            assert response.status_code == 202, response.text
            assert response.headers["x-request-id"] == f"req-{i}-{action}"
            await container.runner.drain()
        snap = await client.post(
            f"/api/v1/vms/{server_id}/snapshots",
            json={"name": "s"},
            headers={"X-Request-ID": "req-snap"},
        )
        assert snap.status_code == 202
        await container.runner.drain()

        entries = await log_of(client, server_id)
        expected = (
            [("create", "req-create-1")]
            + [(a, f"req-{i}-{a}") for i, (a, _) in enumerate(steps)]
            + [("snapshot", "req-snap")]
        )
        assert [(e["action"], e["request_id"]) for e in reversed(entries)] == expected
        for entry in entries:
            assert entry["result"] == "Success", entry
            start = when(str(entry["start_time"]))
            finish = when(str(entry["finish_time"]))
            assert finish >= start
        starts = [when(str(e["start_time"])) for e in entries]
        assert starts == sorted(starts, reverse=True)

    async def test_a_running_action_has_no_result_yet(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        created = await client.post(
            "/api/v1/vms", json={"name": "w", "flavor": "m1.small", "image": "cirros-0.6"}
        )
        entries = await log_of(client, created.json()["id"])
        assert len(entries) == 1
        assert entries[0]["action"] == "create"
        assert entries[0]["result"] is None
        assert entries[0]["finish_time"] is None
        await container.runner.drain()
        entries = await log_of(client, created.json()["id"])
        assert entries[0]["result"] == "Success"

    async def test_generated_request_id_is_logged(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        created = await client.post(
            "/api/v1/vms", json={"name": "w", "flavor": "m1.small", "image": "cirros-0.6"}
        )
        generated = created.headers["x-request-id"]
        assert generated
        entries = await log_of(client, created.json()["id"])
        assert entries[0]["request_id"] == generated

    async def test_entries_name_the_user_who_asked(
        self,
        client: httpx.AsyncClient,
        admin_client: httpx.AsyncClient,
        container: Container,
    ) -> None:
        created = await client.post(
            "/api/v1/vms", json={"name": "w", "flavor": "m1.small", "image": "cirros-0.6"}
        )
        server_id = created.json()["id"]
        await container.runner.drain()
        assert (await act(admin_client, server_id, "stop")).status_code == 202
        demo = (await client.get("/api/v1/auth/me")).json()["user"]["id"]
        admin = (await admin_client.get("/api/v1/auth/me")).json()["user"]["id"]
        entries = await log_of(client, server_id)
        assert [(e["action"], e["user_id"]) for e in entries] == [
            ("stop", admin),
            ("create", demo),
        ]

    async def test_refused_actions_are_not_logged(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        created = await client.post(
            "/api/v1/vms", json={"name": "w", "flavor": "m1.small", "image": "cirros-0.6"}
        )
        server_id = created.json()["id"]
        await container.runner.drain()
        assert (await act(client, server_id, "start")).status_code == 409
        assert (await act(client, server_id, "resize", {"flavor": "m1.small"})).status_code == 400
        assert [e["action"] for e in await log_of(client, server_id)] == ["create"]

    async def test_a_failed_action_is_logged_as_error(
        self, client: httpx.AsyncClient, container: Container, provider: object
    ) -> None:
        created = await client.post(
            "/api/v1/vms", json={"name": "w", "flavor": "m1.small", "image": "cirros-0.6"}
        )
        server_id = created.json()["id"]
        await container.runner.drain()
        provider.fail_next()  # type: ignore[attr-defined]
        assert (await act(client, server_id, "reboot")).status_code == 202
        server = await settle(client, container, server_id)
        assert server["status"] == "ERROR"
        entries = await log_of(client, server_id)
        assert entries[0]["action"] == "reboot"
        assert entries[0]["result"] == "Error"
        assert entries[0]["finish_time"] is not None
        assert entries[0]["message"]

    async def test_delete_cancels_the_running_action(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        created = await client.post(
            "/api/v1/vms", json={"name": "w", "flavor": "m1.small", "image": "cirros-0.6"}
        )
        server_id = created.json()["id"]
        await container.runner.drain()
        await act(client, server_id, "stop")
        await client.delete(f"/api/v1/vms/{server_id}")
        await container.runner.drain()
        entries = await log_of(client, server_id)
        assert [(e["action"], e["result"]) for e in entries] == [
            ("delete", "Success"),
            ("stop", "Cancelled"),
            ("create", "Success"),
        ]

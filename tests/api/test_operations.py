"""GET /api/v1/operations: what an accepted request started, linked from its 202 answer, and
its follow stream (bounded here: httpx's in-process transport reads whole answers)."""

from __future__ import annotations

import json

import httpx
from tests.builders import PROBLEM_JSON, act, server_in, settle

from stackgate.bootstrap import Container
from stackgate.providers.simulator import SimulatorProvider

SERVER = {"name": "op-web", "flavor": "m1.small", "image": "cirros-0.6"}


def sse_events(text: str) -> list[tuple[str, dict[str, object]]]:
    """(event, data) of each event in a text/event-stream body."""
    found = []
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
        )
        if "data" in fields:
            found.append((fields.get("event", "message"), json.loads(fields["data"])))
    return found


async def test_a_create_links_to_its_operation_which_tells_how_it_went(
    client: httpx.AsyncClient, container: Container
) -> None:
    created = await client.post("/api/v1/vms", json=SERVER)
    assert created.status_code == 202
    server_id = created.json()["id"]
    link = created.headers["Operation-Location"]
    assert link.startswith("/api/v1/operations/")

    queued = (await client.get(link)).json()
    assert queued["action"] == "create"
    assert (queued["resource_type"], queued["resource_id"]) == ("server", server_id)
    assert queued["status"] in ("pending", "running")
    assert queued["finished_at"] is None and queued["fault"] is None
    assert queued["request_id"] == created.headers["X-Request-ID"]

    await settle(client, container, server_id)
    done = (await client.get(link)).json()
    assert done["status"] == "succeeded"
    assert done["finished_at"] is not None and done["fault"] is None

    followed = await client.get(f"{link}/events", timeout=30)
    assert followed.status_code == 200
    assert followed.headers["content-type"].startswith("text/event-stream")
    events = sse_events(followed.text)
    assert events == [("operation", done)]


async def test_an_action_links_to_its_own_operation_and_a_failure_shows_the_fault(
    client: httpx.AsyncClient, container: Container, provider: object
) -> None:
    created = await client.post("/api/v1/vms", json=SERVER)
    server_id = created.json()["id"]
    await settle(client, container, server_id)
    provider.fail_next()  # type: ignore[attr-defined]
    rebooted = await act(client, server_id, "reboot")
    assert rebooted.status_code == 202
    link = rebooted.headers["Operation-Location"]
    assert link != created.headers["Operation-Location"]
    await settle(client, container, server_id)

    failed = (await client.get(link)).json()
    assert (failed["action"], failed["status"]) == ("reboot", "failed")
    assert failed["fault"]["message"]
    listed = await client.get(
        "/api/v1/operations", params={"resource_id": server_id, "status": "failed"}
    )
    assert [op["id"] for op in listed.json()["items"]] == [failed["id"]]
    everything = (await client.get("/api/v1/operations", params={"resource_id": server_id})).json()
    assert [op["action"] for op in everything["items"]] == ["reboot", "create"]


async def test_another_projects_operation_is_not_found(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, admin_client: httpx.AsyncClient
) -> None:
    link = (await client.post("/api/v1/vms", json=SERVER)).headers["Operation-Location"]
    for path in (link, f"{link}/events?timeout_seconds=1"):
        answer = await other_client.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == PROBLEM_JSON
    assert (await other_client.get("/api/v1/operations")).json()["items"] == []
    refused = await other_client.get("/api/v1/operations", params={"all_projects": "true"})
    assert refused.status_code == 403
    assert (await admin_client.get(link)).status_code == 200
    every = await admin_client.get("/api/v1/operations", params={"all_projects": "true"})
    assert link.rsplit("/", 1)[1] in {op["id"] for op in every.json()["items"]}


async def test_a_request_that_queues_nothing_has_no_link(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/v1/vms", json=SERVER)
    server_id = created.json()["id"]
    updated = await client.patch(f"/api/v1/vms/{server_id}", json={"name": "op-renamed"})
    assert updated.status_code == 200
    assert "Operation-Location" not in updated.headers
    replayed_key = {"Idempotency-Key": "op-link-1"}
    first = await client.post("/api/v1/vms", json=SERVER, headers=replayed_key)
    again = await client.post("/api/v1/vms", json=SERVER, headers=replayed_key)
    assert "Operation-Location" in first.headers
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Operation-Location" not in again.headers


async def test_bad_stream_parameters_are_refused(client: httpx.AsyncClient) -> None:
    for query in ("since=-1", "timeout_seconds=0", "all_projects=true"):
        answer = await client.get(f"/api/v1/events?{query}")
        assert answer.status_code in (403, 422), query
        assert answer.headers["content-type"] == PROBLEM_JSON
    garbage = await client.get(
        "/api/v1/events?timeout_seconds=0.2", headers={"Last-Event-ID": "not-a-number"}
    )
    assert sse_events(garbage.text)[0] == ("resync", {"seq": 0})


async def test_a_running_operation_shows_the_clouds_refusal_it_retries_after(
    client: httpx.AsyncClient, container: Container, provider: SimulatorProvider
) -> None:
    server = await server_in(client, container, "ACTIVE")
    stop = await client.post(f"/api/v1/vms/{server['id']}/actions/stop")
    link = stop.headers["Operation-Location"]
    assert (await client.get(link)).json()["message"] is None
    provider.inject_api_errors(1000)  # the cloud answers 503 to everything
    try:
        await container.runner.run_once()
        retrying = (await client.get(link)).json()
        shown = (await client.get(f"/api/v1/vms/{server['id']}")).json()
    finally:
        provider.faults.clear()
    assert retrying["status"] == "running"
    assert retrying["fault"] is None
    assert retrying["message"].startswith("cloud unavailable: ")
    assert "503" in retrying["message"]
    assert shown["fault"] is None  # the server shows a fault only once the stop failed

"""GET /api/v1/events and /api/v1/operations over real HTTP: live delivery, resuming with
Last-Event-ID, resync, tenancy; the same stream fed across processes through PostgreSQL's
LISTEN/NOTIFY; an operation followed from its Operation-Location to its end."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.e2e.conftest import Launcher, api, eventually

pytestmark = pytest.mark.e2e
# Quick simulated work: a build still takes about a second, long enough to watch it.
QUICK = json.dumps(
    {
        "create": [1, 1.5],
        "delete": [0.3, 0.5],
        "volume-create": [0.3, 0.5],
        "volume-delete": [0.3, 0.5],
    }
)
SERVER = {"flavor": "m1.tiny", "image": "cirros-0.6"}
PASSWORD = "stream-password-1"
SSE_TIMEOUT = httpx.Timeout(10.0, read=30.0)


@dataclass(frozen=True)
class Sse:
    """One server-sent event as it came over the wire."""

    event: str | None
    id: str | None
    data: str

    @property
    def body(self) -> dict[str, Any]:
        value = json.loads(self.data)
        assert isinstance(value, dict), self.data
        return value

    @property
    def seq(self) -> int:
        assert self.id is not None and self.id == str(self.body["seq"]), self
        return int(self.id)


async def sse(response: httpx.Response, opened: asyncio.Event | None = None) -> AsyncIterator[Sse]:
    """The events of a text/event-stream (parsed by the spec's rules); `opened` is set at the
    first comment, which the server sends before any event."""
    event: str | None = None
    ident: str | None = None
    data: list[str] = []
    async for line in response.aiter_lines():
        if not line:
            if data or event:
                yield Sse(event, ident, "\n".join(data))
            event, ident, data = None, None, []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if not name:
            if opened is not None:
                opened.set()
        elif name == "event":
            event = value
        elif name == "id":
            ident = value
        elif name == "data":
            data.append(value)


async def collect(
    http: httpx.AsyncClient,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    until: Callable[[list[Sse]], bool] | None = None,
    opened: asyncio.Event | None = None,
) -> list[Sse]:
    """Events of `path` until the server ends the stream (`timeout_seconds`, the end of an
    operation) or `until(events)` holds."""
    events: list[Sse] = []
    async with http.stream("GET", path, headers=headers, timeout=SSE_TIMEOUT) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        async for event in sse(response, opened):
            events.append(event)
            if until is not None and until(events):
                break
    return events


def has(event_type: str, resource_id: str) -> Callable[[list[Sse]], bool]:
    def found(events: list[Sse]) -> bool:
        return any(
            e.event == event_type and e.body["resource"]["id"] == resource_id for e in events
        )

    return found


@contextlib.asynccontextmanager
async def logged_in(
    url: str, username: str, password: str, project: str
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        body = {"username": username, "password": password, "project": project}
        response = await http.post("/api/v1/auth/tokens", json=body)
        assert response.status_code == 201, response.text
        http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        yield http


async def new_user(admin: httpx.AsyncClient, name: str, project_id: str, role: str) -> None:
    response = await admin.post("/api/v1/users", json={"name": name, "password": PASSWORD})
    assert response.status_code == 201, response.text
    grant = {"user_id": response.json()["id"], "role": role}
    response = await admin.post(f"/api/v1/projects/{project_id}/members", json=grant)
    assert response.status_code == 201, response.text


async def settled(http: httpx.AsyncClient, path: str, wanted: str) -> bool:
    """Whether `path` shows the `wanted` status (a deleted server may answer 404)."""
    response = await http.get(path)
    if response.status_code == 404:
        return wanted == "DELETED"
    assert response.status_code == 200, response.text
    status = response.json()["status"]
    assert status.lower() != "error", response.text
    return bool(status == wanted)


async def test_resume_resync_and_tenancy_through_serve(launcher: Launcher) -> None:
    _, url = await launcher.serving("serve", STACKGATE_SIM_DURATIONS=QUICK)
    async with (
        api(url) as demo,
        logged_in(url, "admin", ADMIN_PASSWORD, "admin") as admin,
    ):
        project_a = (await demo.get("/api/v1/auth/me")).json()["project"]["id"]
        response = await admin.post("/api/v1/projects", json={"name": "project-b"})
        assert response.status_code == 201, response.text
        project_b = response.json()["id"]
        await new_user(admin, "user-b", project_b, "member")
        await new_user(admin, "reader-a", project_a, "reader")

        # Live: a stream opened before the create receives it; dropped after two events.
        opened = asyncio.Event()
        ids: list[str] = []

        def two_of_s1(events: list[Sse]) -> bool:
            return len([e for e in events if ids and e.body["resource"]["id"] == ids[0]]) == 2

        first_part = asyncio.create_task(
            collect(demo, "/api/v1/events", opened=opened, until=two_of_s1)
        )
        await asyncio.wait_for(opened.wait(), 10)
        response = await demo.post("/api/v1/vms", json={"name": "s1", **SERVER})
        assert response.status_code == 202, response.text
        s1 = response.json()["id"]
        ids.append(s1)
        seen = await asyncio.wait_for(first_part, 15)
        assert all(e.event == e.body["event_type"] for e in seen), seen
        last = seen[-1].seq

        # Disconnected meanwhile: a volume and a second server made, s1 deleted once ACTIVE.
        # Project B watches live (from now on), and makes a volume of its own at the end.
        async with logged_in(url, "user-b", PASSWORD, "project-b") as user_b:
            b_opened = asyncio.Event()
            b_live: asyncio.Task[list[Sse]] = asyncio.create_task(
                collect(
                    user_b,
                    "/api/v1/events",
                    opened=b_opened,
                    until=lambda e: bool([x for x in e if x.event == "volume.create.end"]),
                )
            )
            await asyncio.wait_for(b_opened.wait(), 10)
            response = await demo.post("/api/v1/volumes", json={"name": "v1", "size": 1})
            assert response.status_code == 202, response.text
            v1 = response.json()["id"]
            response = await demo.post("/api/v1/vms", json={"name": "s2", **SERVER})
            assert response.status_code == 202, response.text
            s2 = response.json()["id"]
            await eventually(lambda: settled(demo, f"/api/v1/vms/{s1}", "ACTIVE"), within=20)
            assert (await demo.delete(f"/api/v1/vms/{s1}")).status_code == 202
            for path, status in ((f"/api/v1/vms/{s1}", "DELETED"), (f"/api/v1/vms/{s2}", "ACTIVE")):
                await eventually(lambda p=path, s=status: settled(demo, p, s), within=20)
            await eventually(lambda: settled(demo, f"/api/v1/volumes/{v1}", "available"), within=20)

            response = await user_b.post("/api/v1/volumes", json={"name": "vb", "size": 1})
            assert response.status_code == 202, response.text
            vb = response.json()["id"]
            b_seen = await asyncio.wait_for(b_live, 20)
            b_replay = await collect(user_b, "/api/v1/events?since=0&timeout_seconds=1")

        # Resuming after the last id seen: exactly what was missed, in order, none twice, the
        # same events a fresh replay of the project gives after that point.
        resumed, replay, everything = await asyncio.gather(
            collect(demo, "/api/v1/events?timeout_seconds=1", headers={"Last-Event-ID": str(last)}),
            collect(demo, "/api/v1/events?since=0&timeout_seconds=1"),
            collect(admin, "/api/v1/events?since=0&all_projects=true&timeout_seconds=1"),
        )
        replayed = [e.seq for e in replay]
        assert replayed == sorted(set(replayed)), replayed
        assert {e.body["project_id"] for e in replay} == {project_a}
        assert resumed == [e for e in replay if e.seq > last]
        # Live delivery had no gap either: what the first stream got is what the table holds.
        assert seen == [e for e in replay if seen[0].seq <= e.seq <= last]
        assert has("compute.instance.create.start", s1)(seen), seen
        for event_type, resource_id in (
            ("compute.instance.create.end", s1),
            ("compute.instance.delete.end", s1),
            ("volume.create.end", v1),
            ("compute.instance.create.end", s2),
        ):
            assert has(event_type, resource_id)(resumed), (event_type, resource_id)
        # The numbering is gap-free across the cloud: an admin's replay of every project.
        assert [e.seq for e in everything] == list(range(1, len(everything) + 1))
        assert {e.body["project_id"] for e in everything} >= {project_a, project_b}

        # Project B never sees project A's events, live or replayed; nor A B's.
        for events in (b_seen, b_replay):
            assert events and {e.body["project_id"] for e in events} == {project_b}, events
            assert has("volume.create.end", vb)(events)
        assert not {s1, s2, v1} & {e.body["resource"]["id"] for e in b_seen + b_replay}
        assert vb not in {e.body["resource"]["id"] for e in replay}

        # An id the stream never sent, or one ahead of everything: resync first, then live.
        for bad in ("abc", str(10**12)):
            events = await collect(
                demo, "/api/v1/events?timeout_seconds=1", headers={"Last-Event-ID": bad}
            )
            assert events and events[0].event == "resync", (bad, events)
            assert not [e for e in events[1:] if e.seq <= everything[-1].seq], events

        # A reader may watch the project; a member may not watch every project, nor another.
        async with logged_in(url, "reader-a", PASSWORD, "demo") as reader:
            read = await collect(reader, "/api/v1/events?since=0&timeout_seconds=1")
            assert read[: len(replay)] == replay
        for query in ("all_projects=true", f"project_id={project_b}"):
            response = await demo.get(f"/api/v1/events?{query}")
            assert response.status_code == 403, (query, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["status"] == 403


async def test_an_operation_followed_from_its_location(launcher: Launcher) -> None:
    _, url = await launcher.serving("serve", STACKGATE_SIM_DURATIONS=QUICK)
    async with api(url) as http:
        response = await http.post("/api/v1/vms", json={"name": "op-1", **SERVER})
        assert response.status_code == 202, response.text
        server_id = response.json()["id"]
        location = response.headers["Operation-Location"]
        assert location.startswith("/api/v1/operations/")

        operation = (await http.get(location)).json()
        assert operation["id"] == location.rsplit("/", 1)[-1]
        assert (operation["action"], operation["resource_type"], operation["resource_id"]) == (
            "create",
            "server",
            server_id,
        )
        assert operation["status"] in ("pending", "running")
        listed = (await http.get("/api/v1/operations", params={"resource_id": server_id})).json()
        assert [o["id"] for o in listed["items"]] == [operation["id"]]

        # The stream ends by itself when the operation ends.
        events = await asyncio.wait_for(collect(http, f"{location}/events"), 30)
        operations = [e.body for e in events if e.event == "operation"]
        assert operations and events[-1].event == "operation"
        assert operations[-1]["status"] == "succeeded" and operations[-1]["finished_at"]
        assert {o["id"] for o in operations} == {operation["id"]}
        others = [e for e in events if e.event != "operation"]
        assert {e.body["resource"]["id"] for e in others} == {server_id}
        assert others[-1].event == "compute.instance.create.end"
        assert others[-1].body["resource"]["status"] == "ACTIVE"
        assert (await http.get(location)).json()["status"] == "succeeded"


@pytest.mark.services
async def test_events_committed_by_the_worker_reach_the_other_api_process(
    launcher: Launcher, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two `stackgate api` processes and a `stackgate worker` on one PostgreSQL database: a
    stream on API 2 gets the end of a build accepted by API 1 and committed by the worker
    (each process has its own feed; LISTEN/NOTIFY carries the news between them)."""
    launcher.env["STACKGATE_SIM_DURATIONS"] = QUICK
    await launcher.run("migrate")
    worker = launcher.start("worker")
    (_, url_1), (_, url_2) = await asyncio.gather(launcher.serving("api"), launcher.serving("api"))
    async with api(url_1) as api_1, api(url_2) as api_2:
        opened = asyncio.Event()
        created: list[str] = []

        def active(events: list[Sse]) -> bool:
            return bool(created) and has("compute.instance.create.end", created[0])(events)

        watching = asyncio.create_task(
            collect(api_2, "/api/v1/events", opened=opened, until=active)
        )
        await asyncio.wait_for(opened.wait(), 10)
        response = await api_1.post("/api/v1/vms", json={"name": "split-1", **SERVER})
        assert response.status_code == 202, response.text
        created.append(response.json()["id"])

        async def arrived() -> list[Sse] | None:
            assert worker.running, worker.tail()
            return watching.result() if watching.done() else None

        try:
            events = await eventually(arrived, within=20)
        finally:
            watching.cancel()
        received = datetime.now(UTC)
        mine = [e for e in events if e.body["resource"]["id"] == created[0]]
        lag = received - datetime.fromisoformat(mine[-1].body["occurred_at"])
        with capsys.disabled():
            print(f"\nthe worker's create.end reached API 2 {lag.total_seconds():.3f}s later")
        assert mine[0].event == "compute.instance.create.start"
        assert mine[-1].body["resource"]["status"] == "ACTIVE"
        seqs = [e.seq for e in events]
        assert seqs == sorted(set(seqs)), seqs

    worker.signal(signal.SIGTERM)
    assert await worker.wait(20) in (0, -signal.SIGTERM), worker.tail()

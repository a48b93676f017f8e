"""`stackgate event watch`: tail the event stream (SSE), reconnecting with Last-Event-ID."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import httpx
import typer

from stackgate.cli.client import http
from stackgate.cli.client.command import connect, verb
from stackgate.cli.client.http import Api
from stackgate.cli.client.output import Format, Output, cell, write

app = typer.Typer(help="The event stream.", no_args_is_help=True)
MAX_BACKOFF = 10.0


def line(event: dict[str, Any]) -> str:
    """time, type, resource type/id/name, status, task state: one event, one line."""
    resource = event.get("resource") or {}
    parts = [
        str(event.get("occurred_at") or ""),
        str(event.get("event_type") or ""),
        f"{resource.get('type', '')}/{resource.get('id', '')}",
        cell(resource.get("name")) or "-",
        cell(resource.get("status")) or "-",
        cell(resource.get("task_state")) or "-",
    ]
    return "  ".join(parts)


class Watch:
    """One follower of GET /api/v1/events: remembers the last id, to resume after a drop."""

    def __init__(self, api: Api, params: dict[str, Any], out: Output, count: int | None) -> None:
        self.api = api
        self.params = {k: v for k, v in params.items() if v not in (None, False)}
        self.out = out
        self.left = count
        self.last_id: str | None = None

    def run(self) -> None:
        delay = 0.5
        while self.left is None or self.left > 0:
            got = self.stream()
            if self.left is not None and self.left <= 0:
                return
            delay = 0.5 if got else min(delay * 2, MAX_BACKOFF)
            print(f"event stream dropped; reconnecting in {delay:g} s", file=sys.stderr)
            http.sleep(delay)

    def stream(self) -> bool:
        """Follow until the connection ends; whether any event came."""
        from httpx_sse import SSEError, connect_sse

        headers = dict(self.api.auth_headers)
        if self.last_id:
            headers["Last-Event-ID"] = self.last_id
        got = False
        try:
            with connect_sse(
                self.api.client,
                "GET",
                "/api/v1/events",
                params=self.params,
                headers=headers,
                timeout=httpx.Timeout(10.0, read=None),
            ) as source:
                if not source.response.is_success:
                    source.response.read()
                    raise http.api_error(source.response, self.api.target)
                for sse in source.iter_sse():
                    if sse.id:
                        self.last_id = sse.id
                    if sse.event == "resync":
                        print(
                            "resync: events were missed; list the resources again", file=sys.stderr
                        )
                        continue
                    if not sse.data:
                        continue
                    got = True
                    self.emit(json.loads(sse.data))
                    if self.left is not None:
                        self.left -= 1
                        if self.left <= 0:
                            return True
        except (httpx.TransportError, SSEError, ValueError):
            pass
        return got

    def emit(self, event: dict[str, Any]) -> None:
        if self.out.format is Format.json:
            write(json.dumps(event, separators=(",", ":"), default=str) + "\n")
        else:
            write(line(event) + "\n")


@verb(app, "watch", output=True)
def watch_events(
    out: Output,
    event_type: Annotated[
        str | None, typer.Option("--type", help="A glob, e.g. 'compute.instance.*'.")
    ] = None,
    resource: Annotated[str | None, typer.Option("--resource", help="One resource's id.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Replay from after this sequence number.")
    ] = None,
    all_projects: Annotated[bool, typer.Option("--all-projects", help="Admins.")] = False,
    count: Annotated[int | None, typer.Option(min=1, help="Stop after this many events.")] = None,
) -> None:
    """Print events as they happen (one line each; JSON lines with -f json). Ctrl-C stops."""
    params = {
        "type": event_type,
        "resource_id": resource,
        "since": since,
        "all_projects": "true" if all_projects else None,
    }
    with connect() as api:
        Watch(api, params, out, count).run()

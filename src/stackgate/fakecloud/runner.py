"""Serve the fake cloud from inside a running event loop (tests, and `serve --fakecloud`
style embedding): uvicorn on a real socket, so clients speak real HTTP to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import uvicorn

from stackgate.fakecloud.app import create_fakecloud_app
from stackgate.fakecloud.cloud import FakeCloud


class _EmbeddedServer(uvicorn.Server):
    """Leaves the host process's signal handlers alone: it is not the process's server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def running_fakecloud(
    cloud: FakeCloud, *, host: str = "127.0.0.1", port: int = 0, manage_sim: bool = False
) -> AsyncIterator[str]:
    """Yield the fake's root URL (Keystone at `<url>/v3`) while it serves on `port`
    (0: any free port)."""
    app = create_fakecloud_app(cloud, manage_sim=manage_sim)
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("fakecloud stopped before it started")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        await task

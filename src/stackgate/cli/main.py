"""The `stackgate` command: serve, api, worker, migrate."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import typer
import uvicorn
from rich.console import Console

from stackgate.config import Settings, get_settings

app = typer.Typer(help="StackGate: a control plane for OpenStack clouds.", no_args_is_help=True)
console = Console(stderr=True)
ROOT = Path(__file__).resolve().parents[3]


def _migrate(settings: Settings) -> None:
    """Upgrade the schema, then seed what a first start needs (admin, demo, signing key)."""
    from stackgate.app import announce
    from stackgate.bootstrap import bootstrap
    from stackgate.migrate import upgrade

    upgrade(settings.database_url)

    async def seed() -> None:
        container = bootstrap(settings)
        try:
            announce(await container.prepare_identity())
        finally:
            await container.engine.dispose()

    asyncio.run(seed())


def _serve(settings: Settings, *, port: int, worker: bool, workers: int) -> None:
    from stackgate.app import create_app

    if workers > 1:
        # Several processes share nothing but the database; each builds its own app.
        uvicorn.run(
            "stackgate.cli.main:_factory",
            factory=True,
            host=settings.host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
        )
        return
    uvicorn.run(
        create_app(settings, run_worker=worker),
        host=settings.host,
        port=port,
        log_config=None,
        access_log=False,
    )


def _factory() -> object:
    from stackgate.app import create_app

    return create_app(get_settings(), run_worker=False)


@app.command()
def serve(
    no_migrate: bool = typer.Option(False, help="Skip upgrading the database schema."),
) -> None:
    """Run everything in one process: API, worker and reconciler (port 8000)."""
    settings = get_settings()
    if not no_migrate:
        _migrate(settings)
    port = settings.listen_port(8000)
    console.print(
        f"StackGate on http://{settings.host}:{port}  (docs: /docs, "
        f"provider: {settings.provider}, database: {settings.database_url})"
    )
    _serve(settings, port=port, worker=True, workers=1)


@app.command()
def api(workers: int = typer.Option(1, min=1, max=64, help="Server processes.")) -> None:
    """Run the control-plane API alone (port 8080); a separate `stackgate worker` drives it."""
    settings = get_settings()
    _serve(settings, port=settings.listen_port(8080), worker=False, workers=workers)


@app.command()
def worker() -> None:
    """Run a worker: drives operations through the provider, and reconciles."""
    from stackgate.bootstrap import bootstrap
    from stackgate.core.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)

    async def main() -> None:
        container = bootstrap(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await container.start(worker=True)
        await stop.wait()
        await container.close()

    asyncio.run(main())


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the newest revision (and seed the catalog)."""
    settings = get_settings()
    _migrate(settings)
    console.print("database is at the newest revision")


if __name__ == "__main__":
    app()

"""The `stackgate` command: serve, api, worker, billing, migrate, fakecloud, admin."""

from __future__ import annotations

import asyncio
import errno
import signal
import socket
from pathlib import Path
from typing import Any

import typer
import uvicorn
from rich.console import Console

from stackgate.cli.admin import admin_app
from stackgate.cli.client.command import set_global_options
from stackgate.cli.client.config import GlobalOptions
from stackgate.cli.commands import add_client_commands
from stackgate.config import Settings, get_settings

# Locals in a traceback could show a token: never print them.
app = typer.Typer(
    help="StackGate: a control plane for OpenStack clouds.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
console = Console(stderr=True)
ROOT = Path(__file__).resolve().parents[3]
# Seconds a stopping server waits for open requests: an event stream never ends by itself, so
# without a bound one watching client would keep the process from stopping.
SHUTDOWN_GRACE = 5


@app.callback()
def main(
    profile: str | None = typer.Option(
        None, "--profile", help="Saved login to use (env STACKGATE_PROFILE).", show_default=False
    ),
    url: str | None = typer.Option(None, "--url", help="StackGate's URL (env STACKGATE_URL)."),
    token: str | None = typer.Option(None, "--token", help="Bearer token (env STACKGATE_TOKEN)."),
    project: str | None = typer.Option(None, "--project", help="Project (env STACKGATE_PROJECT)."),
    debug: bool = typer.Option(
        False, "--debug", help="Print each HTTP request and its answer on stderr."
    ),
) -> None:
    """StackGate: a control plane for OpenStack clouds. Client commands take flags > the
    STACKGATE_URL/TOKEN/PROJECT/PROFILE environment > the profile `stackgate login` saved."""
    set_global_options(
        GlobalOptions(profile=profile, url=url, token=token, project=project, debug=debug)
    )


def _log() -> Any:
    import structlog

    return structlog.get_logger("stackgate.cli")


def _start_logging(settings: Settings) -> None:
    """Before a server role's first line, so that every line it writes (ours, Alembic's,
    uvicorn's) has the one format of core/logging.py."""
    from stackgate.core.logging import configure_logging

    configure_logging(settings.log_level, json=settings.log_json)


def _shown_url(url: str) -> str:
    """A database URL fit for a log line: its password hidden."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL fails later, with its own error
        return url


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


def _host_option() -> Any:
    return typer.Option(
        None,
        "--host",
        help="Listen address (beats STACKGATE_HOST; default 127.0.0.1).",
        show_default=False,
    )


def _port_option(default: int) -> Any:
    return typer.Option(
        None,
        "--port",
        min=1,
        max=65535,
        help=f"Listen port (beats STACKGATE_PORT; default {default}).",
        show_default=False,
    )


def _listening(
    settings: Settings, command: str, *, host: str | None, port: int | None, default: int
) -> tuple[Settings, int]:
    """The settings with --host/--port applied (flags > STACKGATE_HOST/PORT > the command's
    default) and the port to listen on, once it is known to be free: otherwise one line that
    says which port and how to choose another, and exit 1 (uvicorn's own bind error names
    neither the setting nor the flag)."""
    given = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
    if given:
        settings = settings.model_copy(update=given)
    chosen = settings.listen_port(default)
    problem = _cannot_listen(settings.host, chosen)
    if problem is not None:
        typer.echo(f"stackgate {command}: {problem}", err=True)
        raise typer.Exit(1)
    return settings, chosen


def _cannot_listen(host: str, port: int) -> str | None:
    """Why uvicorn could not listen on host:port, tried with a socket made as uvicorn makes
    it (same family and SO_REUSEADDR), or None."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as error:
        choose = "choose another port with --port or STACKGATE_PORT"
        if error.errno == errno.EADDRINUSE:
            return f"port {port} on {host} is already in use (is StackGate running?): {choose}"
        if error.errno == errno.EACCES:
            return f"not allowed to listen on port {port} (below 1024 needs root): {choose}"
        reason = error.strerror or str(error)
        return (
            f"cannot listen on {host}:{port} ({reason}): check --host / STACKGATE_HOST "
            "and --port / STACKGATE_PORT"
        )
    return None


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
            timeout_graceful_shutdown=SHUTDOWN_GRACE,
            access_log=False,
        )
        return
    uvicorn.run(
        create_app(settings, run_worker=worker),
        host=settings.host,
        port=port,
        log_config=None,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
        access_log=False,
    )


def _factory() -> object:
    from stackgate.app import create_app

    return create_app(get_settings(), run_worker=False)


@app.command()
def serve(
    host: str | None = _host_option(),
    port: int | None = _port_option(8000),
    no_migrate: bool = typer.Option(
        False, "--no-migrate", help="Skip upgrading the database schema."
    ),
) -> None:
    """Run everything in one process: gateway, API, worker, reconciler, events relay and
    billing (port 8000)."""
    settings, port = _listening(get_settings(), "serve", host=host, port=port, default=8000)
    _start_logging(settings)
    if not no_migrate:
        _migrate(settings)
    _log().info(
        "serving",
        url=f"http://{settings.host}:{port}",
        docs="/docs",
        provider=settings.provider,
        database=_shown_url(settings.database_url),
    )
    _run_gateway(settings, port=port, workers=1, worker=True)


@app.command()
def api(
    host: str | None = _host_option(),
    port: int | None = _port_option(8080),
    workers: int = typer.Option(1, min=1, max=64, help="Server processes."),
) -> None:
    """Run the control-plane API alone (port 8080); a separate `stackgate worker` drives it."""
    settings, port = _listening(get_settings(), "api", host=host, port=port, default=8080)
    _start_logging(settings)
    _serve(settings, port=port, worker=False, workers=workers)


def _gateway_app(settings: Settings, *, worker: bool) -> object:
    """The gateway; with STACKGATE_API_URL unset the API (and its worker) runs inside it, and
    so does billing unless STACKGATE_BILLING_URL routes it elsewhere (`stackgate serve`)."""
    from stackgate.app import create_app
    from stackgate.gateway.app import create_gateway

    api_app = (
        create_app(settings, run_worker=worker, billing=settings.billing_url is None)
        if settings.api_url is None
        else None
    )
    return create_gateway(settings, api_app=api_app)


def _gateway_factory() -> object:
    settings = get_settings()
    return _gateway_app(settings, worker=settings.embedded_worker and settings.api_url is None)


def _run_gateway(settings: Settings, *, port: int, workers: int, worker: bool) -> None:
    if workers > 1:
        uvicorn.run(
            "stackgate.cli.main:_gateway_factory",
            factory=True,
            host=settings.host,
            port=port,
            workers=workers,
            log_config=None,
            timeout_graceful_shutdown=SHUTDOWN_GRACE,
            access_log=False,
        )
        return
    uvicorn.run(
        _gateway_app(settings, worker=worker),  # type: ignore[arg-type]
        host=settings.host,
        port=port,
        log_config=None,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
        access_log=False,
    )


@app.command()
def gateway(
    host: str | None = _host_option(),
    port: int | None = _port_option(8000),
    workers: int = typer.Option(1, min=1, max=64, help="Server processes."),
) -> None:
    """Run the gateway (port 8000): routes /api/v1 to STACKGATE_API_URL (unset: the API runs
    in this process) and publishes POST /api/billing to RabbitMQ (STACKGATE_BROKER_URL)."""
    settings, port = _listening(get_settings(), "gateway", host=host, port=port, default=8000)
    _start_logging(settings)
    _log().info(
        "serving",
        url=f"http://{settings.host}:{port}",
        api=settings.api_url or "in this process",
        billing=settings.billing_url or "in this process",
        broker=_shown_url(settings.broker_url) if settings.broker_url else "none",
    )
    _run_gateway(
        settings,
        port=port,
        workers=workers,
        worker=settings.embedded_worker and settings.api_url is None,
    )


@app.command()
def worker() -> None:
    """Run a worker: drives operations through the provider, and reconciles."""
    from stackgate.bootstrap import bootstrap

    settings = get_settings()
    _start_logging(settings)

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
    _start_logging(settings)
    _migrate(settings)
    _log().info("migrated", database=_shown_url(settings.database_url))


@app.command()
def billing(
    host: str | None = _host_option(),
    port: int | None = _port_option(8090),
    no_migrate: bool = typer.Option(
        False, "--no-migrate", help="Skip upgrading the billing database schema."
    ),
) -> None:
    """Run the billing service: billing_queue and usage consumers, and its API (port 8090)."""
    import os

    from stackgate.billing.app import DEFAULT_PORT, create_billing_app

    settings = get_settings()
    if not settings.broker_url:
        console.print(
            "stackgate billing consumes RabbitMQ: set STACKGATE_BROKER_URL "
            "(without a broker, `stackgate serve` runs billing in-process)"
        )
        raise typer.Exit(2)
    # Tests only: die (as kill -9 would) right after the commit that brings billing_queue's
    # committed messages to N, before acking them.
    crash_after = int(os.environ.get("STACKGATE_BILLING_TEST_CRASH_AFTER_COMMIT", "0") or 0)
    committed = 0

    def after_commit(queue: str, count: int) -> None:
        nonlocal committed
        if queue == "billing_queue":
            committed += count
            if crash_after and committed >= crash_after:
                os._exit(137)

    settings, port = _listening(settings, "billing", host=host, port=port, default=DEFAULT_PORT)
    _start_logging(settings)
    _log().info("serving", url=f"http://{settings.host}:{port}")
    uvicorn.run(
        create_billing_app(
            settings,
            migrate=not no_migrate,
            after_commit=after_commit if crash_after else None,
        ),
        host=settings.host,
        port=port,
        log_config=None,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
        access_log=False,
    )


fakecloud_app = typer.Typer(
    help="The simulator behind OpenStack's own APIs (bare `stackgate fakecloud` serves it)."
)
app.add_typer(fakecloud_app, name="fakecloud")


@fakecloud_app.callback(invoke_without_command=True)
def fakecloud(
    ctx: typer.Context,
    host: str | None = _host_option(),
    port: int | None = _port_option(5000),
) -> None:
    """Run the simulator behind OpenStack's own APIs (port 5000): Keystone at /v3, Nova,
    Glance, Neutron and Cinder in its catalog, for openstacksdk, the `openstack` CLI and
    StackGate's `openstack` provider. User `admin` (STACKGATE_ADMIN_PASSWORD), project `admin`,
    domain `Default`; the cloud's state is kept in STACKGATE_SIM_DATABASE_URL. Also:
    `fakecloud serve` (the same) and `fakecloud clouds-yaml`."""
    ctx.obj = {"host": host, "port": port}
    if ctx.invoked_subcommand is None:
        _run_fakecloud(host=host, port=port)


@fakecloud_app.command("serve")
def fakecloud_serve(
    ctx: typer.Context,
    host: str | None = _host_option(),
    port: int | None = _port_option(5000),
) -> None:
    """Run the fake cloud (port 5000; as bare `stackgate fakecloud`)."""
    outer = ctx.obj or {}
    _run_fakecloud(host=host or outer.get("host"), port=port or outer.get("port"))


@fakecloud_app.command("clouds-yaml")
def fakecloud_clouds_yaml(
    name: str = typer.Option("stackgate", help="The cloud's name (OS_CLOUD=NAME)."),
    password: str | None = typer.Option(
        None, help="Admin password to write (default: STACKGATE_ADMIN_PASSWORD, else a prompt)."
    ),
    username: str = typer.Option("admin", help="admin or demo."),
) -> None:
    """Print a clouds.yaml for the local fake cloud, so `OS_CLOUD=stackgate openstack ...`
    works: save it as ~/.config/openstack/clouds.yaml (or point OS_CLIENT_CONFIG_FILE at it)."""
    import yaml  # type: ignore[import-untyped]

    settings = get_settings()
    if password is None:
        secret = settings.admin_password
        password = secret.get_secret_value() if secret else None
    port = settings.listen_port(5000)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    auth: dict[str, str] = {
        "auth_url": f"http://{host}:{port}/v3",
        "username": username,
        "project_name": username,
        "user_domain_name": "Default",
        "project_domain_name": "Default",
    }
    if password:
        auth["password"] = password
    cloud = {
        "auth": auth,
        "region_name": "RegionOne",
        "interface": "public",
        "identity_api_version": 3,
    }
    print(yaml.safe_dump({"clouds": {name: cloud}}, sort_keys=False), end="")
    if not password:
        console.print(
            "no password written (STACKGATE_ADMIN_PASSWORD unset): add auth.password, or "
            "export OS_PASSWORD"
        )


def _run_fakecloud(*, host: str | None = None, port: int | None = None) -> None:
    import secrets

    from stackgate.fakecloud.app import create_fakecloud_app
    from stackgate.fakecloud.cloud import FakeCloud
    from stackgate.providers.simulator import SimulatorProvider

    settings, port = _listening(get_settings(), "fakecloud", host=host, port=port, default=5000)
    _start_logging(settings)
    password = settings.admin_password.get_secret_value() if settings.admin_password else None
    if password is None:
        password = secrets.token_urlsafe(12)
        _log().warning(
            "admin password generated (STACKGATE_ADMIN_PASSWORD unset)", admin_password=password
        )
    _log().info(
        "serving",
        url=f"http://{settings.host}:{port}",
        os_auth_url=f"http://{settings.host}:{port}/v3",
        user="admin",
        project="admin",
        domain="Default",
        state=_shown_url(settings.sim_database_url),
    )
    cloud = FakeCloud(
        sim=SimulatorProvider.from_settings(settings),
        admin_password=password,
        token_ttl_seconds=settings.token_ttl_seconds,
    )
    uvicorn.run(
        create_fakecloud_app(cloud),
        host=settings.host,
        port=port,
        log_config=None,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
        access_log=False,
    )


app.add_typer(admin_app, name="admin")
add_client_commands(app)

if __name__ == "__main__":
    app()

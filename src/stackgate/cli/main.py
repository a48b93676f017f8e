"""The `stackgate` command: serve, api, worker, billing, migrate, fakecloud."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import typer
import uvicorn
from rich.console import Console

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
    no_migrate: bool = typer.Option(False, help="Skip upgrading the database schema."),
) -> None:
    """Run everything in one process: gateway, API, worker, reconciler, events relay and
    billing (port 8000)."""
    settings = get_settings()
    if not no_migrate:
        _migrate(settings)
    port = settings.listen_port(8000)
    console.print(
        f"StackGate on http://{settings.host}:{port}  (docs: /docs, "
        f"provider: {settings.provider}, database: {settings.database_url})"
    )
    _run_gateway(settings, port=port, workers=1, worker=True)


@app.command()
def api(workers: int = typer.Option(1, min=1, max=64, help="Server processes.")) -> None:
    """Run the control-plane API alone (port 8080); a separate `stackgate worker` drives it."""
    settings = get_settings()
    _serve(settings, port=settings.listen_port(8080), worker=False, workers=workers)


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
def gateway(workers: int = typer.Option(1, min=1, max=64, help="Server processes.")) -> None:
    """Run the gateway (port 8000): routes /api/v1 to STACKGATE_API_URL (unset: the API runs
    in this process) and publishes POST /api/billing to RabbitMQ (STACKGATE_BROKER_URL)."""
    settings = get_settings()
    port = settings.listen_port(8000)
    console.print(
        f"StackGate gateway on http://{settings.host}:{port}  (api: "
        f"{settings.api_url or 'in this process'}, billing: "
        f"{settings.billing_url or 'in this process'}, broker: {settings.broker_url or 'none'})"
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


@app.command()
def billing(
    no_migrate: bool = typer.Option(False, help="Skip upgrading the billing database schema."),
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

    port = settings.listen_port(DEFAULT_PORT)
    console.print(f"StackGate billing on http://{settings.host}:{port}")
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
def fakecloud(ctx: typer.Context) -> None:
    """Run the simulator behind OpenStack's own APIs (port 5000): Keystone at /v3, Nova,
    Glance, Neutron and Cinder in its catalog, for openstacksdk, the `openstack` CLI and
    StackGate's `openstack` provider. User `admin` (STACKGATE_ADMIN_PASSWORD), project `admin`,
    domain `Default`; the cloud's state is kept in STACKGATE_SIM_DATABASE_URL. Also:
    `fakecloud serve` (the same) and `fakecloud clouds-yaml`."""
    if ctx.invoked_subcommand is None:
        _run_fakecloud()


@fakecloud_app.command("serve")
def fakecloud_serve() -> None:
    """Run the fake cloud (port 5000; as bare `stackgate fakecloud`)."""
    _run_fakecloud()


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


def _run_fakecloud() -> None:
    import secrets

    from stackgate.core.logging import configure_logging
    from stackgate.fakecloud.app import create_fakecloud_app
    from stackgate.fakecloud.cloud import FakeCloud
    from stackgate.providers.simulator import SimulatorProvider

    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    password = settings.admin_password.get_secret_value() if settings.admin_password else None
    if password is None:
        password = secrets.token_urlsafe(12)
        console.print(f"admin password (STACKGATE_ADMIN_PASSWORD unset): {password}")
    port = settings.listen_port(5000)
    console.print(
        f"OpenStack-compatible cloud on http://{settings.host}:{port}  "
        f"(OS_AUTH_URL=http://{settings.host}:{port}/v3, user admin, project admin, "
        f"domain Default; state: {settings.sim_database_url})"
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


add_client_commands(app)

if __name__ == "__main__":
    app()

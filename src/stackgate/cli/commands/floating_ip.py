"""`stackgate floating ip ...` (also `floating-ip`): Neutron floating IPs."""

from __future__ import annotations

from typing import Annotated

import typer

from stackgate.cli.client import resolve
from stackgate.cli.client.command import (
    connect,
    create,
    delete_each,
    list_matching,
    show,
    show_named,
    verb,
)
from stackgate.cli.client.errors import EXIT_USAGE, CliError
from stackgate.cli.client.output import Output, columns
from stackgate.cli.client.resolve import FLOATING_IP
from stackgate.cli.client.wait import WaitOptions

floating_app = typer.Typer(help="Floating IPs (`floating ip ...`).", no_args_is_help=True)
ip_app = typer.Typer(help="Floating IPs.", no_args_is_help=True)
floating_app.add_typer(ip_app, name="ip")

Address = Annotated[str, typer.Argument(help="Floating IP address or id.")]
LIST = columns(
    "ID",
    ("Floating IP Address", "floating_ip_address"),
    ("Fixed IP Address", "fixed_ip_address"),
    ("Port", "port_id"),
    ("Server", "server_id"),
    "Status",
)


@verb(ip_app, "list", output=True)
def list_ips(out: Output, status: Annotated[str | None, typer.Option()] = None) -> None:
    """List floating IPs."""
    list_matching(FLOATING_IP, LIST, out, status=status)


@verb(ip_app, "show", output=True)
def show_ip(address: Address, out: Output) -> None:
    """Show a floating IP."""
    show_named(FLOATING_IP, address, out)


def _associate(address_id: str, server: str | None, port: str | None, out: Output) -> None:
    """Associate, then show the floating IP as it now is."""
    with connect() as api:
        body: dict[str, str] = {}
        if port:
            found = resolve.find(api, resolve.PORT, port)
            body = {"vm_id": str(found.get("device_id") or ""), "port_id": str(found["id"])}
        if server:
            body["vm_id"] = resolve.find_id(api, resolve.SERVER, server)
        if not body.get("vm_id"):
            raise CliError("the port is not plugged into a server: give --server", EXIT_USAGE)
        api.post(f"{FLOATING_IP.one(address_id)}/actions/associate", body)
        show(api.get(FLOATING_IP.one(address_id)), out)


@verb(ip_app, "create", output=True, wait=True)
def create_ip(
    out: Output,
    waiting: WaitOptions,
    network: Annotated[
        str | None, typer.Argument(help="External network (default: the public one).")
    ] = None,
    description: Annotated[str | None, typer.Option()] = None,
    server: Annotated[str | None, typer.Option(help="Associate with this server.")] = None,
    port: Annotated[str | None, typer.Option(help="Associate with this port.")] = None,
) -> None:
    """Allocate a floating IP (and associate it with --server or --port)."""
    associating = bool(server or port)
    body = {"network": network, "description": description}
    # Once associated it is shown as it then is, not as allocated.
    fip_id = create(
        FLOATING_IP, body, "Allocating floating IP", None if associating else out, waiting
    )
    if associating:
        _associate(fip_id, server, port, out)


@verb(ip_app, "set", output=True)
def set_ip(
    address: Address,
    out: Output,
    server: Annotated[str | None, typer.Option(help="Associate with this server.")] = None,
    port: Annotated[str | None, typer.Option(help="Associate with this port.")] = None,
) -> None:
    """Associate a floating IP with a server or port."""
    if not (server or port):
        raise CliError("give --server or --port", EXIT_USAGE)
    with connect() as api:
        fip_id = resolve.find_id(api, FLOATING_IP, address)
    _associate(fip_id, server, port, out)


@verb(ip_app, "unset")
def unset_ip(
    address: Address,
    port: Annotated[bool, typer.Option("--port", help="Disassociate it.")] = False,
) -> None:
    """Disassociate a floating IP (--port)."""
    if not port:
        raise CliError("give --port", EXIT_USAGE)
    with connect() as api:
        fip_id = resolve.find_id(api, FLOATING_IP, address)
        api.post(f"{FLOATING_IP.one(fip_id)}/actions/disassociate")


@verb(ip_app, "delete", wait=True)
def delete_ips(addresses: Annotated[list[str], typer.Argument()], waiting: WaitOptions) -> None:
    """Release floating IPs."""
    delete_each(FLOATING_IP, addresses, waiting, label="Releasing floating IP")

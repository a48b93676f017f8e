"""`stackgate floating ip ...` (also `floating-ip`): Neutron floating IPs."""

from __future__ import annotations

from typing import Annotated

import typer

from stackgate.cli.client import resolve
from stackgate.cli.client.command import accepted, connect, show, verb
from stackgate.cli.client.errors import EXIT_USAGE, CliError
from stackgate.cli.client.output import Output, columns, print_list
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
    with connect() as api:
        items = resolve.list_all(api, FLOATING_IP, status=status)
    print_list(items, LIST, out)


@verb(ip_app, "show", output=True)
def show_ip(address: Address, out: Output) -> None:
    """Show a floating IP."""
    with connect() as api:
        show(resolve.find(api, FLOATING_IP, address), out)


def _associate(address_id: str, server: str | None, port: str | None) -> None:
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
    with connect() as api:
        response = api.post(FLOATING_IP.path, {"network": network, "description": description})
        fip_id = str(response.json()["id"])
        accepted(
            api,
            response,
            label="Allocating floating IP",
            path=FLOATING_IP.one(fip_id),
            resource_id=fip_id,
            waiting=waiting,
            out=None if (server or port) else out,
        )
        if server or port:
            _associate(fip_id, server, port)
            show(api.get(FLOATING_IP.one(fip_id)), out)


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
    _associate(fip_id, server, port)
    with connect() as api:
        show(api.get(FLOATING_IP.one(fip_id)), out)


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
    with connect() as api:
        for address in addresses:
            fip_id = resolve.find_id(api, FLOATING_IP, address)
            response = api.delete(FLOATING_IP.one(fip_id))
            accepted(
                api,
                response,
                label=f"Releasing floating IP {address}",
                path=FLOATING_IP.one(fip_id),
                resource_id=fip_id,
                waiting=waiting,
                out=None,
                deleting=True,
            )

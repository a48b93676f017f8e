"""`stackgate network|subnet|port ...` (Neutron)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from stackgate.cli.client import resolve
from stackgate.cli.client.command import accepted, connect, show, verb
from stackgate.cli.client.output import Output, columns, print_list
from stackgate.cli.client.resolve import NETWORK, PORT, SUBNET, Kind
from stackgate.cli.client.wait import WaitOptions

network_app = typer.Typer(help="Networks.", no_args_is_help=True)
subnet_app = typer.Typer(help="Subnets.", no_args_is_help=True)
port_app = typer.Typer(help="Ports.", no_args_is_help=True)


def _ips(port: dict[str, Any]) -> str:
    return ", ".join(
        str(ip.get("ip_address", ip)) if isinstance(ip, dict) else str(ip)
        for ip in port.get("fixed_ips") or []
    )


NETWORKS = columns("ID", "Name", "Status", "Shared", "External")
SUBNETS = columns("ID", "Name", ("Network", "network_id"), ("Subnet", "cidr"), "Status")
PORTS = columns(
    "ID",
    "Name",
    ("MAC Address", "mac_address"),
    ("Fixed IP Addresses", _ips),
    "Status",
    ("Device ID", "device_id"),
)


def _create(
    kind: Kind, body: dict[str, Any], label: str, out: Output, waiting: WaitOptions
) -> None:
    with connect() as api:
        response = api.post(kind.path, {k: v for k, v in body.items() if v is not None})
        new_id = str(response.json()["id"])
        accepted(
            api,
            response,
            label=label,
            path=kind.one(new_id),
            resource_id=new_id,
            waiting=waiting,
            out=out,
        )


def _delete(kind: Kind, names: list[str], waiting: WaitOptions) -> None:
    with connect() as api:
        for name in names:
            found = resolve.find_id(api, kind, name)
            response = api.delete(kind.one(found))
            accepted(
                api,
                response,
                label=f"Deleting {kind.noun} {name}",
                path=kind.one(found),
                resource_id=found,
                waiting=waiting,
                out=None,
                deleting=True,
            )


def _show(kind: Kind, name: str, out: Output) -> None:
    with connect() as api:
        show(resolve.find(api, kind, name), out)


Names = Annotated[list[str], typer.Argument(help="Names or ids.")]
Name = Annotated[str, typer.Argument(help="Name or id.")]


@verb(network_app, "list", output=True)
def list_networks(out: Output, name: Annotated[str | None, typer.Option()] = None) -> None:
    """List networks."""
    with connect() as api:
        items = resolve.list_all(api, NETWORK, name=name)
    print_list(items, NETWORKS, out)


@verb(network_app, "show", output=True)
def show_network(network: Name, out: Output) -> None:
    """Show a network."""
    _show(NETWORK, network, out)


@verb(network_app, "create", output=True, wait=True)
def create_network(
    name: Annotated[str, typer.Argument()],
    out: Output,
    waiting: WaitOptions,
    description: Annotated[str | None, typer.Option()] = None,
    shared: Annotated[bool, typer.Option("--share/--no-share")] = False,
    external: Annotated[bool, typer.Option("--external/--internal")] = False,
) -> None:
    """Create a network."""
    body = {"name": name, "description": description, "shared": shared, "external": external}
    _create(NETWORK, body, f"Creating network {name}", out, waiting)


@verb(network_app, "delete", wait=True)
def delete_networks(networks: Names, waiting: WaitOptions) -> None:
    """Delete networks."""
    _delete(NETWORK, networks, waiting)


@verb(subnet_app, "list", output=True)
def list_subnets(
    out: Output, network: Annotated[str | None, typer.Option(help="Only this network's.")] = None
) -> None:
    """List subnets."""
    with connect() as api:
        network_id = resolve.find_id(api, NETWORK, network) if network else None
        items = resolve.list_all(api, SUBNET, network_id=network_id)
    print_list(items, SUBNETS, out)


@verb(subnet_app, "show", output=True)
def show_subnet(subnet: Name, out: Output) -> None:
    """Show a subnet."""
    _show(SUBNET, subnet, out)


@verb(subnet_app, "create", output=True, wait=True)
def create_subnet(
    name: Annotated[str, typer.Argument()],
    network: Annotated[str, typer.Option(help="Network name or id.")],
    subnet_range: Annotated[str, typer.Option("--subnet-range", help="CIDR, e.g. 10.1.0.0/24.")],
    out: Output,
    waiting: WaitOptions,
    gateway: Annotated[str | None, typer.Option(help="Gateway address.")] = None,
    dhcp: Annotated[bool, typer.Option("--dhcp/--no-dhcp")] = True,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a subnet."""
    with connect() as api:
        network_id = resolve.find_id(api, NETWORK, network)
    body = {
        "name": name,
        "network_id": network_id,
        "cidr": subnet_range,
        "gateway_ip": gateway,
        "enable_dhcp": dhcp,
        "description": description,
    }
    _create(SUBNET, body, f"Creating subnet {name}", out, waiting)


@verb(subnet_app, "delete", wait=True)
def delete_subnets(subnets: Names, waiting: WaitOptions) -> None:
    """Delete subnets."""
    _delete(SUBNET, subnets, waiting)


@verb(port_app, "list", output=True)
def list_ports(
    out: Output,
    network: Annotated[str | None, typer.Option(help="Only this network's.")] = None,
    server: Annotated[str | None, typer.Option(help="Only this server's.")] = None,
) -> None:
    """List ports."""
    with connect() as api:
        network_id = resolve.find_id(api, NETWORK, network) if network else None
        device_id = resolve.find_id(api, resolve.SERVER, server) if server else None
        items = resolve.list_all(api, PORT, network_id=network_id, device_id=device_id)
    print_list(items, PORTS, out)


@verb(port_app, "show", output=True)
def show_port(port: Name, out: Output) -> None:
    """Show a port."""
    _show(PORT, port, out)


@verb(port_app, "create", output=True, wait=True)
def create_port(
    name: Annotated[str, typer.Argument()],
    network: Annotated[str, typer.Option(help="Network name or id.")],
    out: Output,
    waiting: WaitOptions,
    security_group: Annotated[list[str] | None, typer.Option(help="Repeatable.")] = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a port."""
    with connect() as api:
        network_id = resolve.find_id(api, NETWORK, network)
        groups = [resolve.find_id(api, resolve.SECURITY_GROUP, g) for g in security_group or []]
    body = {
        "name": name,
        "network_id": network_id,
        "description": description,
        "security_groups": groups or None,
    }
    _create(PORT, body, f"Creating port {name}", out, waiting)


@verb(port_app, "delete", wait=True)
def delete_ports(ports: Names, waiting: WaitOptions) -> None:
    """Delete ports."""
    _delete(PORT, ports, waiting)

"""`stackgate network|subnet|port ...` (Neutron)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from stackgate.cli.client import resolve
from stackgate.cli.client.command import (
    connect,
    create,
    delete_each,
    list_matching,
    show_named,
    verb,
)
from stackgate.cli.client.output import Output, columns, print_list
from stackgate.cli.client.resolve import NETWORK, PORT, SUBNET
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


Names = Annotated[list[str], typer.Argument(help="Names or ids.")]
Name = Annotated[str, typer.Argument(help="Name or id.")]


@verb(network_app, "list", output=True)
def list_networks(out: Output, name: Annotated[str | None, typer.Option()] = None) -> None:
    """List networks."""
    list_matching(NETWORK, NETWORKS, out, name=name)


@verb(network_app, "show", output=True)
def show_network(network: Name, out: Output) -> None:
    """Show a network."""
    show_named(NETWORK, network, out)


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
    create(NETWORK, body, f"Creating network {name}", out, waiting)


@verb(network_app, "delete", wait=True)
def delete_networks(networks: Names, waiting: WaitOptions) -> None:
    """Delete networks."""
    delete_each(NETWORK, networks, waiting)


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
    show_named(SUBNET, subnet, out)


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
    create(SUBNET, body, f"Creating subnet {name}", out, waiting)


@verb(subnet_app, "delete", wait=True)
def delete_subnets(subnets: Names, waiting: WaitOptions) -> None:
    """Delete subnets."""
    delete_each(SUBNET, subnets, waiting)


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
    show_named(PORT, port, out)


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
    create(PORT, body, f"Creating port {name}", out, waiting)


@verb(port_app, "delete", wait=True)
def delete_ports(ports: Names, waiting: WaitOptions) -> None:
    """Delete ports."""
    delete_each(PORT, ports, waiting)

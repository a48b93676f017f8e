"""`stackgate security group [rule] ...` (also `security-group`): Neutron security groups."""

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
from stackgate.cli.client.http import Api
from stackgate.cli.client.output import Output, columns, print_list
from stackgate.cli.client.resolve import SECURITY_GROUP, Kind
from stackgate.cli.client.wait import WaitOptions

security_app = typer.Typer(help="Security groups (`security group ...`).", no_args_is_help=True)
group_app = typer.Typer(help="Security groups.", no_args_is_help=True)
rule_app = typer.Typer(help="Security group rules.", no_args_is_help=True)
security_app.add_typer(group_app, name="group")
group_app.add_typer(rule_app, name="rule")

Group = Annotated[str, typer.Argument(help="Security group name or id.")]


def _ports(rule: dict[str, Any]) -> str:
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if low is None and high is None:
        return ""
    return str(low) if low == high else f"{low}:{high}"


GROUPS = columns("ID", "Name", "Description", ("Project", "project_id"))
RULES = columns(
    "ID",
    ("IP Protocol", "protocol"),
    "Ethertype",
    ("IP Range", "remote_ip_prefix"),
    ("Port Range", _ports),
    "Direction",
    ("Remote Security Group", "remote_group_id"),
)


def _rules(api: Api, group: str) -> Kind:
    """The named group's rules as a collection of their own, so `create` serves them too."""
    group_id = resolve.find_id(api, SECURITY_GROUP, group)
    return Kind("security group rule", f"{SECURITY_GROUP.one(group_id)}/rules")


@verb(group_app, "list", output=True)
def list_groups(out: Output, name: Annotated[str | None, typer.Option()] = None) -> None:
    """List security groups."""
    list_matching(SECURITY_GROUP, GROUPS, out, name=name)


@verb(group_app, "show", output=True)
def show_group(group: Group, out: Output) -> None:
    """Show a security group and its rules."""
    show_named(SECURITY_GROUP, group, out)


@verb(group_app, "create", output=True, wait=True)
def create_group(
    name: Annotated[str, typer.Argument()],
    out: Output,
    waiting: WaitOptions,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a security group."""
    body = {"name": name, "description": description}
    create(SECURITY_GROUP, body, f"Creating security group {name}", out, waiting)


@verb(group_app, "delete", wait=True)
def delete_groups(groups: Annotated[list[str], typer.Argument()], waiting: WaitOptions) -> None:
    """Delete security groups."""
    delete_each(SECURITY_GROUP, groups, waiting)


@verb(rule_app, "list", output=True)
def list_rules(group: Group, out: Output) -> None:
    """List a security group's rules."""
    with connect() as api:
        items = api.get(_rules(api, group).path).get("items", [])
    print_list(items, RULES, out)


@verb(rule_app, "create", output=True, wait=True)
def create_rule(
    group: Group,
    out: Output,
    waiting: WaitOptions,
    direction: Annotated[str, typer.Option("--direction", help="ingress or egress.")] = "ingress",
    ethertype: Annotated[str, typer.Option(help="IPv4 or IPv6.")] = "IPv4",
    protocol: Annotated[str | None, typer.Option(help="tcp, udp, icmp, a number.")] = None,
    dst_port: Annotated[
        str | None, typer.Option("--dst-port", help="A port or a range LOW:HIGH.")
    ] = None,
    remote_ip: Annotated[str | None, typer.Option(help="A CIDR.")] = None,
    remote_group: Annotated[str | None, typer.Option(help="A security group.")] = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add a rule to a security group."""
    low = high = None
    if dst_port:
        first, _, last = dst_port.partition(":")
        low, high = int(first), int(last or first)
    with connect() as api:
        rules = _rules(api, group)
        remote = resolve.find_id(api, SECURITY_GROUP, remote_group) if remote_group else None
    body = {
        "direction": direction,
        "ethertype": ethertype,
        "protocol": protocol,
        "port_range_min": low,
        "port_range_max": high,
        "remote_ip_prefix": remote_ip,
        "remote_group_id": remote,
        "description": description,
    }
    create(rules, body, "Creating rule", out, waiting)


@verb(rule_app, "delete")
def delete_rule(group: Group, rules: Annotated[list[str], typer.Argument()]) -> None:
    """Delete rules of a security group."""
    with connect() as api:
        group_rules = _rules(api, group)
        for rule_id in rules:
            api.delete(group_rules.one(rule_id))

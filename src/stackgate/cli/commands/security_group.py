"""`stackgate security group [rule] ...` (also `security-group`): Neutron security groups."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from stackgate.cli.client import resolve
from stackgate.cli.client.command import accepted, connect, show, verb
from stackgate.cli.client.output import Output, columns, print_list
from stackgate.cli.client.resolve import SECURITY_GROUP
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


@verb(group_app, "list", output=True)
def list_groups(out: Output, name: Annotated[str | None, typer.Option()] = None) -> None:
    """List security groups."""
    with connect() as api:
        items = resolve.list_all(api, SECURITY_GROUP, name=name)
    print_list(items, GROUPS, out)


@verb(group_app, "show", output=True)
def show_group(group: Group, out: Output) -> None:
    """Show a security group and its rules."""
    with connect() as api:
        show(resolve.find(api, SECURITY_GROUP, group), out)


@verb(group_app, "create", output=True, wait=True)
def create_group(
    name: Annotated[str, typer.Argument()],
    out: Output,
    waiting: WaitOptions,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a security group."""
    with connect() as api:
        response = api.post(SECURITY_GROUP.path, {"name": name, "description": description})
        group_id = str(response.json()["id"])
        accepted(
            api,
            response,
            label=f"Creating security group {name}",
            path=SECURITY_GROUP.one(group_id),
            resource_id=group_id,
            waiting=waiting,
            out=out,
        )


@verb(group_app, "delete", wait=True)
def delete_groups(groups: Annotated[list[str], typer.Argument()], waiting: WaitOptions) -> None:
    """Delete security groups."""
    with connect() as api:
        for name in groups:
            group_id = resolve.find_id(api, SECURITY_GROUP, name)
            response = api.delete(SECURITY_GROUP.one(group_id))
            accepted(
                api,
                response,
                label=f"Deleting security group {name}",
                path=SECURITY_GROUP.one(group_id),
                resource_id=group_id,
                waiting=waiting,
                out=None,
                deleting=True,
            )


@verb(rule_app, "list", output=True)
def list_rules(group: Group, out: Output) -> None:
    """List a security group's rules."""
    with connect() as api:
        group_id = resolve.find_id(api, SECURITY_GROUP, group)
        items = api.get(f"{SECURITY_GROUP.one(group_id)}/rules").get("items", [])
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
        group_id = resolve.find_id(api, SECURITY_GROUP, group)
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
        path = f"{SECURITY_GROUP.one(group_id)}/rules"
        response = api.post(path, {k: v for k, v in body.items() if v is not None})
        rule_id = str(response.json()["id"])
        accepted(
            api,
            response,
            label="Creating rule",
            path=f"{path}/{rule_id}",
            resource_id=rule_id,
            waiting=waiting,
            out=out,
        )


@verb(rule_app, "delete")
def delete_rule(group: Group, rules: Annotated[list[str], typer.Argument()]) -> None:
    """Delete rules of a security group."""
    with connect() as api:
        group_id = resolve.find_id(api, SECURITY_GROUP, group)
        for rule_id in rules:
            api.delete(f"{SECURITY_GROUP.one(group_id)}/rules/{rule_id}")

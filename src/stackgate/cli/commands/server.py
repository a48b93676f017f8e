"""`stackgate server ...`: servers (Nova), their lifecycle actions, action log, snapshots,
volumes and security groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from stackgate.cli.client import resolve
from stackgate.cli.client.command import (
    accepted,
    connect,
    create,
    delete_each,
    list_matching,
    show,
    show_named,
    verb,
)
from stackgate.cli.client.errors import EXIT_USAGE, CliError
from stackgate.cli.client.output import Output, columns, print_list
from stackgate.cli.client.resolve import SERVER
from stackgate.cli.client.wait import WaitOptions

app = typer.Typer(help="Servers (virtual machines).", no_args_is_help=True)
event_app = typer.Typer(
    help="A server's action log (Nova's instance actions).", no_args_is_help=True
)
image_app = typer.Typer(help="Images made from a server.", no_args_is_help=True)
add_app = typer.Typer(help="Attach something to a server.", no_args_is_help=True)
remove_app = typer.Typer(help="Detach something from a server.", no_args_is_help=True)
app.add_typer(event_app, name="event")
app.add_typer(image_app, name="image")
app.add_typer(add_app, name="add")
app.add_typer(remove_app, name="remove")

Server = Annotated[str, typer.Argument(help="Server name or id.")]
Servers = Annotated[list[str], typer.Argument(help="Server names or ids.")]


def _networks(server: dict[str, Any]) -> str:
    addresses = server.get("addresses") or {}
    parts = [
        f"{net}=" + ", ".join(str(a.get("addr", a)) if isinstance(a, dict) else str(a) for a in ips)
        for net, ips in addresses.items()
    ]
    return "; ".join(parts) or (server.get("ip_address") or "")


LIST = columns(
    "ID",
    "Name",
    "Status",
    ("Networks", _networks),
    ("Image", "image.name"),
    ("Flavor", "flavor.name"),
)
LONG = (
    *LIST,
    *columns(
        ("Task State", "task_state"),
        ("Power State", "power_state"),
        ("Image ID", "image.id"),
        ("Flavor ID", "flavor.id"),
        ("Created At", "created_at"),
    ),
)


@verb(app, "list", output=True)
def list_servers(
    out: Output,
    long: Annotated[bool, typer.Option("--long", help="More columns.")] = False,
    name: Annotated[str | None, typer.Option(help="Only servers with this name.")] = None,
    status: Annotated[str | None, typer.Option(help="Only servers in this status.")] = None,
    flavor: Annotated[str | None, typer.Option(help="Only servers of this flavor.")] = None,
    image: Annotated[str | None, typer.Option(help="Only servers of this image.")] = None,
) -> None:
    """List servers."""
    cols = LONG if long else LIST
    list_matching(SERVER, cols, out, name=name, status=status, flavor=flavor, image=image)


@verb(app, "show", output=True)
def show_server(server: Server, out: Output) -> None:
    """Show a server."""
    show_named(SERVER, server, out)


def _key_values(pairs: list[str] | None) -> dict[str, str]:
    result = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--property takes KEY=VALUE, not {pair!r}", EXIT_USAGE)
        result[key] = value
    return result


@verb(app, "create", output=True, wait=True)
def create_server(
    name: Annotated[str, typer.Argument(help="New server name.")],
    flavor: Annotated[str, typer.Option(help="Flavor name or id.")],
    image: Annotated[str, typer.Option(help="Image name or id.")],
    out: Output,
    waiting: WaitOptions,
    network: Annotated[
        list[str] | None, typer.Option(help="Network name or id (repeatable; one port each).")
    ] = None,
    security_group: Annotated[
        list[str] | None, typer.Option(help="Security group name (repeatable).")
    ] = None,
    volume: Annotated[
        list[str] | None, typer.Option(help="Volume to attach once ACTIVE (repeatable).")
    ] = None,
    boot_from_volume: Annotated[
        int | None, typer.Option(min=1, help="Boot from a new volume of this size (GB).")
    ] = None,
    key_name: Annotated[str | None, typer.Option(help="Keypair name.")] = None,
    user_data: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="A user-data file.")
    ] = None,
    description: Annotated[str | None, typer.Option()] = None,
    prop: Annotated[
        list[str] | None, typer.Option("--property", help="Metadata KEY=VALUE (repeatable).")
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Makes retrying this create safe.")
    ] = None,
) -> None:
    """Create a server."""
    body: dict[str, Any] = {"name": name, "flavor": flavor, "image": image}
    if network:
        body["networks"] = network
    if security_group:
        body["security_groups"] = security_group
    if volume:
        body["volumes"] = volume
    if boot_from_volume:
        body["boot_volume"] = {"size": boot_from_volume}
    if key_name:
        body["key_name"] = key_name
    if user_data:
        body["user_data"] = user_data.read_text()
    if description:
        body["description"] = description
    if prop:
        body["metadata"] = _key_values(prop)
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    create(SERVER, body, f"Creating server {name}", out, waiting, resumable=True, headers=headers)


@verb(app, "delete", wait=True)
def delete_servers(servers: Servers, waiting: WaitOptions) -> None:
    """Delete servers."""
    delete_each(SERVER, servers, waiting)


def _act(
    servers: list[str],
    action: str,
    waiting: WaitOptions,
    out: Output,
    body: dict[str, Any] | None = None,
) -> None:
    with connect() as api:
        for name in servers:
            server_id = resolve.find_id(api, SERVER, name)
            response = api.post(f"{SERVER.one(server_id)}/actions/{action}", body)
            if waiting.wait:
                accepted(
                    api,
                    response,
                    SERVER,
                    server_id,
                    label=f"{action.capitalize()} server {name}",
                    waiting=waiting,
                    out=out,
                    resumable=True,
                )


def _simple_action(action: str, summary: str) -> None:
    def command(servers: Servers, out: Output, waiting: WaitOptions) -> None:
        _act(servers, action, waiting, out)

    command.__doc__ = summary
    command.__name__ = f"{action}_servers"
    verb(app, action, output=True, wait=True)(command)


for _action, _summary in (
    ("start", "Start servers (SHUTOFF -> ACTIVE)."),
    ("stop", "Stop servers (ACTIVE -> SHUTOFF)."),
    ("pause", "Pause servers."),
    ("unpause", "Unpause servers."),
    ("suspend", "Suspend servers."),
    ("resume", "Resume suspended servers."),
    ("shelve", "Shelve servers."),
    ("unshelve", "Unshelve servers."),
    ("lock", "Lock servers against changes by non-admins."),
    ("unlock", "Unlock servers."),
):
    _simple_action(_action, _summary)


@verb(app, "reboot", output=True, wait=True)
def reboot_servers(
    servers: Servers,
    out: Output,
    waiting: WaitOptions,
    hard: Annotated[bool, typer.Option("--hard", help="A hard reboot (power cycle).")] = False,
) -> None:
    """Reboot servers (soft unless --hard)."""
    _act(servers, "reboot", waiting, out, {"type": "HARD" if hard else "SOFT"})


@verb(app, "resize", output=True, wait=True)
def resize_server(
    words: Annotated[
        list[str], typer.Argument(metavar="[confirm|revert] SERVER", help="The server.")
    ],
    out: Output,
    waiting: WaitOptions,
    flavor: Annotated[str | None, typer.Option(help="The new flavor (name or id).")] = None,
) -> None:
    """Resize a server to --flavor; then `resize confirm SERVER` or `resize revert SERVER`."""
    if len(words) == 2 and words[0] in ("confirm", "revert"):
        if flavor:
            raise CliError(f"resize {words[0]} takes no --flavor", EXIT_USAGE)
        _act([words[1]], f"{words[0]}-resize", waiting, out)
        return
    if len(words) != 1 or not flavor:
        raise CliError(
            "usage: server resize SERVER --flavor FLAVOR | server resize confirm|revert SERVER",
            EXIT_USAGE,
        )
    _act(words, "resize", waiting, out, {"flavor": flavor})


@verb(app, "rebuild", output=True, wait=True)
def rebuild_server(
    server: Server,
    out: Output,
    waiting: WaitOptions,
    image: Annotated[str | None, typer.Option(help="Image (default: the current one).")] = None,
) -> None:
    """Rebuild a server from an image."""
    _act([server], "rebuild", waiting, out, {"image": image} if image else None)


ACTIONS = columns(
    ("Request ID", "request_id"),
    "Action",
    ("Start Time", "start_time"),
    ("Finish Time", "finish_time"),
    "Result",
    "Message",
    ("User ID", "user_id"),
)


def _actions(server: str) -> list[dict[str, Any]]:
    with connect() as api:
        server_id = resolve.find_id(api, SERVER, server)
        items: list[dict[str, Any]] = api.get(f"{SERVER.one(server_id)}/actions").get("items", [])
    return items


@verb(event_app, "list", output=True)
def list_events(server: Server, out: Output) -> None:
    """The server's action log, newest first."""
    print_list(_actions(server), ACTIONS, out)


@verb(event_app, "show", output=True)
def show_event(server: Server, request_id: str, out: Output) -> None:
    """One entry of the server's action log, by request id."""
    for item in _actions(server):
        if request_id in (item.get("request_id"), item.get("id")):
            show(item, out)
            return
    raise CliError(f"no action with request id {request_id!r} on server {server!r}")


@verb(image_app, "create", output=True, wait=True)
def create_image(
    server: Server,
    out: Output,
    waiting: WaitOptions,
    name: Annotated[str, typer.Option(help="The new image's name.")],
) -> None:
    """Snapshot a server into a new image."""
    with connect() as api:
        server_id = resolve.find_id(api, SERVER, server)
        response = api.post(f"{SERVER.one(server_id)}/snapshots", {"name": name})
        image_id = str(response.json()["id"])
        accepted(
            api,
            response,
            resolve.IMAGE,
            image_id,
            label=f"Creating image {name}",
            waiting=waiting,
            out=out,
            resumable=True,
        )


VolumeArg = Annotated[str, typer.Argument(help="Volume name or id.")]
GroupArg = Annotated[str, typer.Argument(help="Security group name or id.")]


def _volume(server: str, volume: str, attach: bool, waiting: WaitOptions) -> None:
    """Attach or detach; --wait follows the volume, whose status says how it went."""
    with connect() as api:
        server_id = resolve.find_id(api, SERVER, server)
        volume_id = resolve.find_id(api, resolve.VOLUME, volume)
        attachments = f"{SERVER.one(server_id)}/volumes"
        if attach:
            response = api.post(attachments, {"volume_id": volume_id})
        else:
            response = api.delete(f"{attachments}/{volume_id}")
        label = f"{'Attaching' if attach else 'Detaching'} volume {volume}"
        accepted(api, response, resolve.VOLUME, volume_id, label=label, waiting=waiting, out=None)


@verb(add_app, "volume", wait=True)
def add_volume(server: Server, volume: VolumeArg, waiting: WaitOptions) -> None:
    """Attach a volume to a server."""
    _volume(server, volume, True, waiting)


@verb(remove_app, "volume", wait=True)
def remove_volume(server: Server, volume: VolumeArg, waiting: WaitOptions) -> None:
    """Detach a volume from a server."""
    _volume(server, volume, False, waiting)


def _security_group(server: str, group: str, action: str, waiting: WaitOptions) -> None:
    with connect() as api:
        server_id = resolve.find_id(api, SERVER, server)
        name = resolve.find(api, resolve.SECURITY_GROUP, group)["name"]
        response = api.post(f"{SERVER.one(server_id)}/actions/{action}", {"name": name})
        if waiting.wait:
            accepted(
                api,
                response,
                SERVER,
                server_id,
                label=f"{action} {name}",
                waiting=waiting,
                out=None,
            )


def _group_commands(parent: typer.Typer, action: str, summary: str) -> None:
    def command(server: Server, group: GroupArg, waiting: WaitOptions) -> None:
        _security_group(server, group, action, waiting)

    command.__doc__ = summary
    command.__name__ = action.replace("-", "_")
    security = typer.Typer(help="Security groups.", no_args_is_help=True)
    verb(security, "group", wait=True)(command)
    parent.add_typer(security, name="security")
    verb(parent, "security-group", wait=True)(command)


_group_commands(add_app, "add-security-group", "Add a security group to a server.")
_group_commands(remove_app, "remove-security-group", "Remove a security group from a server.")


def _floating(server: str, address: str, associate: bool) -> None:
    with connect() as api:
        server_id = resolve.find_id(api, SERVER, server)
        fip_id = resolve.find_id(api, resolve.FLOATING_IP, address)
        path = f"{resolve.FLOATING_IP.one(fip_id)}/actions/"
        if associate:
            api.post(path + "associate", {"vm_id": server_id})
        else:
            api.post(path + "disassociate")


def _floating_commands() -> None:
    add = typer.Typer(help="Floating IPs.", no_args_is_help=True)
    remove = typer.Typer(help="Floating IPs.", no_args_is_help=True)

    @verb(add, "ip")
    def add_floating_ip(
        server: Server, address: Annotated[str, typer.Argument(help="Floating IP or id.")]
    ) -> None:
        """Associate a floating IP with a server."""
        _floating(server, address, True)

    @verb(remove, "ip")
    def remove_floating_ip(
        server: Server, address: Annotated[str, typer.Argument(help="Floating IP or id.")]
    ) -> None:
        """Disassociate a floating IP from a server."""
        _floating(server, address, False)

    add_app.add_typer(add, name="floating")
    remove_app.add_typer(remove, name="floating")


_floating_commands()

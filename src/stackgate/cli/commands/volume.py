"""`stackgate volume ...` and `volume snapshot ...` (Cinder)."""

from __future__ import annotations

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
from stackgate.cli.client.output import Output, columns, print_list
from stackgate.cli.client.resolve import VOLUME, VOLUME_SNAPSHOT
from stackgate.cli.client.wait import WaitOptions

app = typer.Typer(help="Block storage volumes.", no_args_is_help=True)
snapshot_app = typer.Typer(help="Volume snapshots.", no_args_is_help=True)
app.add_typer(snapshot_app, name="snapshot")

Volume = Annotated[str, typer.Argument(help="Volume name or id.")]
Volumes = Annotated[list[str], typer.Argument(help="Volume names or ids.")]


def _attached(volume: dict[str, Any]) -> str:
    return ", ".join(
        f"{a.get('server_id')} ({a.get('device') or '-'})" if isinstance(a, dict) else str(a)
        for a in volume.get("attachments") or []
    )


LIST = columns("ID", "Name", "Status", "Size", ("Type", "volume_type"), ("Attached to", _attached))
SNAPSHOTS = columns("ID", "Name", "Status", "Size", ("Volume ID", "volume_id"))


@verb(app, "list", output=True)
def list_volumes(
    out: Output,
    name: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option()] = None,
) -> None:
    """List volumes."""
    list_matching(VOLUME, LIST, out, name=name, status=status)


@verb(app, "show", output=True)
def show_volume(volume: Volume, out: Output) -> None:
    """Show a volume."""
    show_named(VOLUME, volume, out)


@verb(app, "create", output=True, wait=True)
def create_volume(
    name: Annotated[str, typer.Argument(help="New volume name.")],
    size: Annotated[int, typer.Option(min=1, help="Size in GB.")],
    out: Output,
    waiting: WaitOptions,
    image: Annotated[str | None, typer.Option(help="Make it from this image.")] = None,
    volume_type: Annotated[str | None, typer.Option("--type", help="Volume type.")] = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a volume."""
    body = {
        "name": name,
        "size": size,
        "image": image,
        "volume_type": volume_type,
        "description": description,
    }
    create(VOLUME, body, f"Creating volume {name}", out, waiting, resumable=True)


@verb(app, "delete", wait=True)
def delete_volumes(volumes: Volumes, waiting: WaitOptions) -> None:
    """Delete volumes."""
    delete_each(VOLUME, volumes, waiting)


@verb(app, "set", output=True)
def set_volume(
    volume: Volume,
    out: Output,
    name: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Rename a volume or change its description."""
    body = {k: v for k, v in {"name": name, "description": description}.items() if v is not None}
    with connect() as api:
        volume_id = resolve.find_id(api, VOLUME, volume)
        show(api.request("PATCH", VOLUME.one(volume_id), json=body).json(), out)


@verb(app, "extend", output=True, wait=True)
def extend_volume(
    volume: Volume,
    size: Annotated[int, typer.Option(min=1, help="The new size in GB.")],
    out: Output,
    waiting: WaitOptions,
) -> None:
    """Grow a volume."""
    with connect() as api:
        volume_id = resolve.find_id(api, VOLUME, volume)
        response = api.post(f"{VOLUME.one(volume_id)}/actions/extend", {"new_size": size})
        accepted(
            api,
            response,
            VOLUME,
            volume_id,
            label=f"Extending volume {volume}",
            waiting=waiting,
            out=out,
        )


@verb(snapshot_app, "list", output=True)
def list_snapshots(
    out: Output,
    volume: Annotated[str | None, typer.Option(help="Only this volume's snapshots.")] = None,
) -> None:
    """List volume snapshots."""
    with connect() as api:
        volume_id = resolve.find_id(api, VOLUME, volume) if volume else None
        items = resolve.list_all(api, VOLUME_SNAPSHOT, volume_id=volume_id)
    print_list(items, SNAPSHOTS, out)


@verb(snapshot_app, "show", output=True)
def show_snapshot(snapshot: Annotated[str, typer.Argument()], out: Output) -> None:
    """Show a volume snapshot."""
    show_named(VOLUME_SNAPSHOT, snapshot, out)


@verb(snapshot_app, "create", output=True, wait=True)
def create_snapshot(
    name: Annotated[str, typer.Argument(help="New snapshot name.")],
    volume: Annotated[str, typer.Option(help="The volume (name or id).")],
    out: Output,
    waiting: WaitOptions,
    force: Annotated[bool, typer.Option("--force", help="Even of an in-use volume.")] = False,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Snapshot a volume."""
    with connect() as api:
        volume_id = resolve.find_id(api, VOLUME, volume)
    body = {"volume_id": volume_id, "name": name, "force": force, "description": description}
    create(VOLUME_SNAPSHOT, body, f"Creating snapshot {name}", out, waiting)


@verb(snapshot_app, "delete", wait=True)
def delete_snapshots(
    snapshots: Annotated[list[str], typer.Argument()], waiting: WaitOptions
) -> None:
    """Delete volume snapshots."""
    delete_each(VOLUME_SNAPSHOT, snapshots, waiting, label="Deleting snapshot")

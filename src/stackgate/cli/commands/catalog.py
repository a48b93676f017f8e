"""`stackgate flavor|image ...` (the catalog: Nova flavors, Glance images)."""

from __future__ import annotations

from typing import Annotated

import typer

from stackgate.cli.client import resolve
from stackgate.cli.client.command import connect, show, verb
from stackgate.cli.client.output import Output, columns, print_list
from stackgate.cli.client.resolve import FLAVOR, IMAGE

flavor_app = typer.Typer(help="Flavors (server sizes).", no_args_is_help=True)
image_app = typer.Typer(help="Images.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="Name or id.")]
FLAVORS = columns(
    "ID",
    "Name",
    ("RAM", "ram_mb"),
    ("Disk", "disk_gb"),
    ("VCPUs", "vcpus"),
    ("Is Public", "is_public"),
)
IMAGES = columns("ID", "Name", "Status", "Visibility")


@verb(flavor_app, "list", output=True)
def list_flavors(out: Output) -> None:
    """List flavors."""
    with connect() as api:
        items = resolve.list_all(api, FLAVOR)
    print_list(items, FLAVORS, out)


@verb(flavor_app, "show", output=True)
def show_flavor(flavor: Name, out: Output) -> None:
    """Show a flavor."""
    with connect() as api:
        show(resolve.find(api, FLAVOR, flavor), out)


@verb(flavor_app, "create", output=True)
def create_flavor(
    name: Annotated[str, typer.Argument()],
    out: Output,
    vcpus: Annotated[int, typer.Option(min=1)] = 1,
    ram: Annotated[int, typer.Option(min=1, help="MB.")] = 512,
    disk: Annotated[int, typer.Option(min=0, help="GB.")] = 1,
    private: Annotated[bool, typer.Option("--private/--public")] = False,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a flavor (admin)."""
    body = {
        "name": name,
        "vcpus": vcpus,
        "ram_mb": ram,
        "disk_gb": disk,
        "is_public": not private,
        "description": description,
    }
    with connect() as api:
        show(api.post(FLAVOR.path, body).json(), out)


@verb(flavor_app, "delete")
def delete_flavors(flavors: Annotated[list[str], typer.Argument()]) -> None:
    """Delete flavors (admin)."""
    with connect() as api:
        for name in flavors:
            api.delete(FLAVOR.one(resolve.find_id(api, FLAVOR, name)))


@verb(image_app, "list", output=True)
def list_images(
    out: Output,
    name: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option()] = None,
) -> None:
    """List images."""
    with connect() as api:
        items = resolve.list_all(api, IMAGE, name=name, status=status)
    print_list(items, IMAGES, out)


@verb(image_app, "show", output=True)
def show_image(image: Name, out: Output) -> None:
    """Show an image."""
    with connect() as api:
        show(resolve.find(api, IMAGE, image), out)


@verb(image_app, "delete")
def delete_images(images: Annotated[list[str], typer.Argument()]) -> None:
    """Delete images."""
    with connect() as api:
        for name in images:
            api.delete(IMAGE.one(resolve.find_id(api, IMAGE, name)))

"""`stackgate flavor|image ...` (the catalog: Nova flavors, Glance images)."""

from __future__ import annotations

from typing import Annotated

import typer

from stackgate.cli.client.command import connect, delete_each, list_matching, show, show_named, verb
from stackgate.cli.client.output import Output, columns
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
    list_matching(FLAVOR, FLAVORS, out)


@verb(flavor_app, "show", output=True)
def show_flavor(flavor: Name, out: Output) -> None:
    """Show a flavor."""
    show_named(FLAVOR, flavor, out)


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
    delete_each(FLAVOR, flavors)


@verb(image_app, "list", output=True)
def list_images(
    out: Output,
    name: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option()] = None,
) -> None:
    """List images."""
    list_matching(IMAGE, IMAGES, out, name=name, status=status)


@verb(image_app, "show", output=True)
def show_image(image: Name, out: Output) -> None:
    """Show an image."""
    show_named(IMAGE, image, out)


@verb(image_app, "delete")
def delete_images(images: Annotated[list[str], typer.Argument()]) -> None:
    """Delete images."""
    delete_each(IMAGE, images)

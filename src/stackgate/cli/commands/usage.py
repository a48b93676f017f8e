"""`stackgate usage show`: what a project's resources cost (billing)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from stackgate.cli.client.command import connect, show, verb
from stackgate.cli.client.output import Output, columns, print_list
from stackgate.cli.commands.identity import project_id

app = typer.Typer(help="Usage and cost (billing).", no_args_is_help=True)


def _hours(resource: dict[str, Any]) -> str:
    try:
        return f"{Decimal(str(resource.get('seconds') or 0)) / 3600:.2f}"
    except InvalidOperation:
        return ""


RESOURCES = columns(
    ("Resource Type", "resource_type"),
    ("Resource ID", "resource_id"),
    ("Hours", _hours),
    "Amount",
)


@verb(app, "show", output=True)
def show_usage(
    out: Output,
    project: Annotated[str | None, typer.Option(help="Default: your token's project.")] = None,
    start: Annotated[str | None, typer.Option(help="ISO 8601 time (default: month start).")] = None,
    end: Annotated[str | None, typer.Option(help="ISO 8601 time (default: now).")] = None,
    detail: Annotated[bool, typer.Option("--detail", help="One row per resource.")] = False,
) -> None:
    """A project's usage and cost over a period."""
    with connect() as api:
        path = f"/api/v1/billing/projects/{project_id(api, project)}/usage"
        usage = api.get(path, start=start, end=end)
    if detail:
        print_list(usage.get("resources", []), RESOURCES, out)
        return
    show(
        {
            "project_id": usage.get("project_id"),
            "start": usage.get("start"),
            "end": usage.get("end"),
            "resources": len(usage.get("resources", [])),
            "currency": usage.get("currency"),
            "total": usage.get("total"),
        },
        out,
    )

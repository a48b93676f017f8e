"""`stackgate operation list|show|wait`: the asynchronous work behind every 202."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from stackgate.cli.client.command import connect, show, verb
from stackgate.cli.client.errors import EXIT_TIMEOUT, CliError
from stackgate.cli.client.output import Output, columns, print_list
from stackgate.cli.client.wait import DEFAULT_TIMEOUT, Progress, WaitTimeout, follow_operation

app = typer.Typer(help="Operations (the work a 202 started).", no_args_is_help=True)
PATH = "/api/v1/operations"
LIST = columns(
    "ID",
    "Action",
    ("Resource Type", "resource_type"),
    ("Resource ID", "resource_id"),
    "Status",
    "Step",
    ("Created At", "created_at"),
    ("Finished At", "finished_at"),
)
Operation = Annotated[str, typer.Argument(help="Operation id.")]


@verb(app, "list", output=True)
def list_operations(
    out: Output,
    resource: Annotated[str | None, typer.Option("--resource", help="A resource id.")] = None,
    status: Annotated[str | None, typer.Option()] = None,
    action: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """List recent operations, newest first."""
    params: dict[str, Any] = {"resource_id": resource, "status": status, "action": action}
    with connect() as api:
        items = api.get(PATH, **params, limit=limit).get("items", [])
    print_list(items, LIST, out)


@verb(app, "show", output=True)
def show_operation(operation: Operation, out: Output) -> None:
    """Show an operation."""
    with connect() as api:
        show(api.get(f"{PATH}/{operation}"), out)


@verb(app, "wait", output=True)
def wait_operation(
    operation: Operation,
    out: Output,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", min=0, help="Give up after this many seconds.")
    ] = DEFAULT_TIMEOUT,
) -> None:
    """Wait for an operation to end; exit 1 if it failed, 124 on timeout."""
    with connect() as api:
        progress = Progress(f"Operation {operation}")
        try:
            op = follow_operation(api, operation, time.monotonic() + wait_timeout, progress)
        except WaitTimeout:
            progress.finish("still going")
            raise CliError(
                f"Timed out after {wait_timeout:g} s; operation {operation} goes on on the "
                f"server.\nResume waiting with: stackgate operation wait {operation}",
                EXIT_TIMEOUT,
            ) from None
    progress.finish(str(op.get("status")))
    show(op, out)
    if op.get("status") != "succeeded":
        fault = (op.get("fault") or {}).get("message") or op.get("status")
        raise CliError(f"operation {operation} {op.get('status')}: {fault}")

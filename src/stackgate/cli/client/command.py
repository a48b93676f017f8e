"""How a client verb is declared: `@verb(app, "list", output=True, wait=True)` adds the output
options (-f, -c, --sort-column, --noindent) and the wait options (--wait, --wait-timeout) to
the function's own, and turns a CliError into its message on stderr and its exit code. Below
that, what most verbs do once their options are read (show, list, create, delete by name), so
every object family answers alike."""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Any, TypeVar, get_type_hints

import typer

from stackgate.cli.client import http, resolve
from stackgate.cli.client.config import GlobalOptions, Target, resolve_target
from stackgate.cli.client.errors import CliError
from stackgate.cli.client.http import Api
from stackgate.cli.client.output import Column, Format, Output, print_list, print_show
from stackgate.cli.client.resolve import Kind
from stackgate.cli.client.wait import DEFAULT_TIMEOUT, Pending, WaitOptions, wait_for

F = TypeVar("F", bound=Callable[..., Any])

_OUTPUT: dict[str, tuple[Any, Any]] = {
    "format_": (
        Annotated[
            Format,
            typer.Option(
                "-f", "--format", help="Output format.", rich_help_panel="Output", show_default=True
            ),
        ],
        Format.table,
    ),
    "column": (
        Annotated[
            list[str] | None,
            typer.Option(
                "-c",
                "--column",
                help="Show this column (repeatable; case-insensitive: -c id matches ID).",
                rich_help_panel="Output",
            ),
        ],
        None,
    ),
    "sort_column": (
        Annotated[
            list[str] | None,
            typer.Option(
                "--sort-column",
                help="Sort rows by this column (repeatable).",
                rich_help_panel="Output",
            ),
        ],
        None,
    ),
    "noindent": (
        Annotated[
            bool,
            typer.Option("--noindent", help="Compact JSON.", rich_help_panel="Output"),
        ],
        False,
    ),
}
_WAIT: dict[str, tuple[Any, Any]] = {
    "wait_": (
        Annotated[
            bool,
            typer.Option(
                "--wait",
                help="Wait until the work is done, then print the result.",
                rich_help_panel="Waiting",
            ),
        ],
        False,
    ),
    "wait_timeout": (
        Annotated[
            float,
            typer.Option(
                "--wait-timeout",
                min=0,
                help="Give up waiting after this many seconds (exit 124).",
                rich_help_panel="Waiting",
                show_default=True,
            ),
        ],
        DEFAULT_TIMEOUT,
    ),
}


def verb(
    app: typer.Typer, name: str, *, output: bool = False, wait: bool = False, **options: Any
) -> Callable[[F], F]:
    """Register `fn` as `name` on `app`. `fn` takes `out: Output` when `output`, and
    `waiting: WaitOptions` when `wait`, besides its own typer parameters."""

    def register(fn: F) -> F:
        app.command(name, **options)(_wrap(fn, output=output, wait=wait))
        return fn

    return register


def _wrap(fn: Callable[..., Any], *, output: bool, wait: bool) -> Callable[..., Any]:
    signature = inspect.signature(fn, eval_str=True)
    hints = get_type_hints(fn, include_extras=True)
    own = [p for p in signature.parameters.values() if p.name not in ("out", "waiting")]
    extra = {**(_OUTPUT if output else {}), **(_WAIT if wait else {})}
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint)
        for name, (hint, default) in extra.items()
    ]
    own = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in own]

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        if output:
            kwargs["out"] = Output(
                format=kwargs.pop("format_"),
                columns=tuple(kwargs.pop("column") or ()),
                sort_columns=tuple(kwargs.pop("sort_column") or ()),
                noindent=kwargs.pop("noindent"),
            )
        if wait:
            kwargs["waiting"] = WaitOptions(kwargs.pop("wait_"), kwargs.pop("wait_timeout"))
        return run(fn, **kwargs)

    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*own, *added], return_annotation=None
    )
    wrapper.__annotations__ = {
        **{p.name: p.annotation for p in own},
        **{name: hint for name, (hint, _) in extra.items()},
    }
    return wrapper


def run(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a verb: its CliError is one message on stderr and an exit code."""
    try:
        return fn(**kwargs)
    except CliError as exc:
        fail(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise typer.Exit(130) from None


def fail(exc: CliError) -> None:
    print(
        f"Error: {exc.message}" if not exc.message.startswith("Error") else exc.message,
        file=sys.stderr,
        flush=True,
    )
    raise typer.Exit(exc.code)


_given = GlobalOptions()


def set_global_options(options: GlobalOptions) -> None:
    """The root command's callback hands its flags over here, once per invocation."""
    global _given
    _given = options


def global_options() -> GlobalOptions:
    """What the root command's --url/--token/--project/--profile said."""
    return _given


def target() -> Target:
    return resolve_target(global_options())


@contextlib.contextmanager
def connect() -> Iterator[Api]:
    """An Api for the URL, token and project the flags, environment and profile name."""
    with http.session(target()) as api:
        yield api


def show(item: dict[str, Any] | None, out: Output) -> None:
    """One resource, without its hypermedia links."""
    if item is not None:
        print_show(item, out, fields=[name for name in item if name != "links"])


def accepted(
    api: Api,
    response: Any,
    kind: Kind,
    resource_id: str,
    *,
    label: str,
    waiting: WaitOptions,
    out: Output | None,
    deleting: bool = False,
    resumable: bool = False,
) -> dict[str, Any] | None:
    """After a 202 for the resource `kind.one(resource_id)`: print it as accepted, or (--wait)
    follow the work and print the resource as it ended. Returns what was printed. A timeout
    while `resumable` names `stackgate <noun> show <id>` as the way to look again."""
    if not waiting.wait:
        body = None if deleting or not response.content else response.json()
        if out is not None and isinstance(body, dict):
            show(body, out)
        return body
    pending = Pending.of(
        response,
        label,
        kind.one(resource_id),
        resource_id=resource_id,
        deleting=deleting,
        # A kind's noun is also its object on the command line ("volume snapshot").
        resume=f"stackgate {kind.noun} show {resource_id}" if resumable else None,
    )
    final = wait_for(api, pending, waiting)
    if out is not None:
        show(final, out)
    return final


def show_named(kind: Kind, name: str, out: Output) -> None:
    """The one resource of `kind` with this name or id."""
    with connect() as api:
        show(resolve.find(api, kind, name), out)


def list_matching(kind: Kind, cols: Sequence[Column], out: Output, **filters: Any) -> None:
    """Every resource of `kind` the filters match (a None filter is no filter)."""
    with connect() as api:
        items = resolve.list_all(api, kind, **filters)
    print_list(items, cols, out)


def create(
    kind: Kind,
    body: dict[str, Any],
    label: str,
    out: Output | None,
    waiting: WaitOptions,
    *,
    resumable: bool = False,
    headers: dict[str, str] | None = None,
) -> str:
    """POST a new resource to its collection and see the 202 through (`accepted`); returns
    the new id. Options left unset (None) are left out, so the API's defaults apply."""
    with connect() as api:
        given = {key: value for key, value in body.items() if value is not None}
        response = api.post(kind.path, given, headers=headers)
        new_id = str(response.json()["id"])
        accepted(
            api, response, kind, new_id, label=label, waiting=waiting, out=out, resumable=resumable
        )
    return new_id


def delete_each(
    kind: Kind, names: Sequence[str], waiting: WaitOptions | None = None, label: str | None = None
) -> None:
    """Delete the named resources one by one. With `waiting` (the API deletes them in the
    background), --wait sees each one gone before the next is deleted; `label` starts each
    progress line, before the name (default: "Deleting <noun>")."""
    doing = label or f"Deleting {kind.noun}"
    with connect() as api:
        for name in names:
            resource_id = resolve.find_id(api, kind, name)
            response = api.delete(kind.one(resource_id))
            if waiting is not None:
                accepted(
                    api,
                    response,
                    kind,
                    resource_id,
                    label=f"{doing} {name}",
                    waiting=waiting,
                    out=None,
                    deleting=True,
                )

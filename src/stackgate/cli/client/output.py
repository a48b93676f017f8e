"""The output contract (OSC's, from cliff): -f table|json|yaml|value|csv, repeatable -c,
--sort-column, --noindent. stdout carries only the result; a list in JSON is an array of
objects keyed by the display headers, a show is one object keyed by field."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from stackgate.cli.client.errors import EXIT_USAGE, CliError


class Format(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"
    value = "value"
    csv = "csv"


@dataclass(frozen=True)
class Output:
    """The output options a command was given."""

    format: Format = Format.table
    columns: tuple[str, ...] = ()
    sort_columns: tuple[str, ...] = ()
    noindent: bool = False


Getter = Callable[[Any], Any]


@dataclass(frozen=True)
class Column:
    """A list column: its display header and how to read it from an API object."""

    header: str
    get: Getter

    @classmethod
    def of(cls, header: str, key: str | Getter | None = None) -> Column:
        if callable(key):
            return cls(header, key)
        path = (key or header.lower().replace(" ", "_")).split(".")

        def get(item: Mapping[str, Any]) -> Any:
            value: Any = item
            for part in path:
                value = value.get(part) if isinstance(value, Mapping) else None
            return value

        return cls(header, get)


def columns(*specs: str | tuple[str, str | Getter]) -> tuple[Column, ...]:
    """`columns("ID", "Name", ("Flavor", "flavor.name"))`."""
    return tuple(
        Column.of(spec) if isinstance(spec, str) else Column.of(spec[0], spec[1]) for spec in specs
    )


def _norm(name: str) -> str:
    return name.lower().replace(" ", "_").replace("-", "_")


def pick(headers: Sequence[str], wanted: Sequence[str]) -> list[int]:
    """Indexes of the columns -c named, matched case-insensitively ("id" is "ID", "task_state"
    is "Task State"); an unknown name is a usage error listing the choices."""
    by_name = {_norm(header): index for index, header in enumerate(headers)}
    chosen = []
    for name in wanted:
        index = by_name.get(_norm(name))
        if index is None:
            raise CliError(
                f"no column {name!r}; choose from: {', '.join(headers)}", code=EXIT_USAGE
            )
        chosen.append(index)
    return chosen


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value).lower())


def cell(value: Any) -> str:
    """One value as text: nothing for null, JSON for structures, as OSC's formatters do."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(cell(v) for v in value)
    if isinstance(value, dict):
        if all(not isinstance(v, dict | list) for v in value.values()):
            return ", ".join(f"{k}={cell(v)}" for k, v in value.items())
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, list):
        return json.dumps(value, default=str)
    return str(value)


def write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.ASCII, show_lines=False, header_style="", highlight=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*(cell(value) for value in row))
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 10_000
    console = Console(file=sys.stdout, width=width, color_system=None, emoji=False, highlight=False)
    console.print(table, markup=False, crop=False)


def _dump(data: Any, out: Output) -> None:
    if out.format is Format.json:
        indent = None if out.noindent else 2
        write(json.dumps(data, indent=indent, default=str) + "\n")
    else:
        import yaml  # type: ignore[import-untyped]

        write(yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True))


def _csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([v if isinstance(v, int | float) else cell(v) for v in row])
    write(buffer.getvalue())


def _plain(value: Any) -> Any:
    """A value for JSON and YAML: as the API gave it."""
    return value


def print_list(items: Sequence[Mapping[str, Any]], cols: Sequence[Column], out: Output) -> None:
    """A list: rows under the display headers."""
    headers = [column.header for column in cols]
    rows = [[column.get(item) for column in cols] for item in items]
    for name in reversed(out.sort_columns):
        (index,) = pick(headers, [name])
        rows.sort(key=lambda row, i=index: _sort_key(row[i]))  # type: ignore[misc]
    if out.columns:
        chosen = pick(headers, out.columns)
        headers = [headers[i] for i in chosen]
        rows = [[row[i] for i in chosen] for row in rows]
    if out.format in (Format.json, Format.yaml):
        _dump([dict(zip(headers, map(_plain, row), strict=True)) for row in rows], out)
    elif out.format is Format.value:
        write("".join(" ".join(cell(v) for v in row) + "\n" for row in rows))
    elif out.format is Format.csv:
        _csv(headers, rows)
    else:
        _table(headers, rows)


def print_show(item: Mapping[str, Any], out: Output, fields: Sequence[str] | None = None) -> None:
    """One object: its fields (the API's names, or `fields`), one per row in a table."""
    names = list(fields) if fields is not None else list(item)
    if out.columns:
        names = [names[i] for i in pick(names, out.columns)]
    if out.format in (Format.json, Format.yaml):
        _dump({name: item.get(name) for name in names}, out)
    elif out.format is Format.value:
        write("".join(cell(item.get(name)) + "\n" for name in names))
    elif out.format is Format.csv:
        _csv(["Field", "Value"], [[name, item.get(name)] for name in names])
    else:
        _table(["Field", "Value"], [[name, item.get(name)] for name in names])

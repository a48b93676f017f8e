"""The output contract on a stable list (the seeded flavors) and one show."""

from __future__ import annotations

import csv
import io
import json
import uuid

import yaml

from tests.cli.conftest import Cli, json_of, ok


def test_table_is_ascii_with_the_display_headers(demo: Cli) -> None:
    out = ok(demo("flavor", "list")).stdout
    lines = out.splitlines()
    assert lines[0].startswith("+-") and lines[0].endswith("-+")
    assert lines[1].split("|")[1].strip() == "ID"
    assert "m1.tiny" in out
    assert all(ord(ch) < 128 for ch in out)


def test_json_list_is_an_array_of_objects_keyed_by_header(demo: Cli) -> None:
    rows = json_of(demo("flavor", "list", "-f", "json"))
    assert isinstance(rows, list) and rows
    assert list(rows[0]) == ["ID", "Name", "RAM", "Disk", "VCPUs", "Is Public"]
    tiny = next(row for row in rows if row["Name"] == "m1.tiny")
    assert tiny["RAM"] == 512 and isinstance(tiny["Is Public"], bool)


def test_noindent_prints_json_on_one_line(demo: Cli) -> None:
    out = ok(demo("flavor", "list", "-f", "json", "--noindent")).stdout
    assert out.count("\n") == 1
    assert json.loads(out)


def test_yaml(demo: Cli) -> None:
    rows = yaml.safe_load(ok(demo("flavor", "list", "-f", "yaml")).stdout)
    assert {"ID", "Name"} <= set(rows[0])


def test_value_with_columns_prints_bare_values(demo: Cli) -> None:
    out = ok(demo("flavor", "list", "-f", "value", "-c", "id")).stdout
    for line in out.splitlines():
        uuid.UUID(line)
    pairs = ok(demo("flavor", "list", "-f", "value", "-c", "name", "-c", "vcpus")).stdout
    assert "m1.tiny 1" in pairs.splitlines()


def test_csv_quotes_like_osc(demo: Cli) -> None:
    out = ok(demo("flavor", "list", "-f", "csv", "-c", "Name", "-c", "RAM")).stdout
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["Name", "RAM"]
    assert ["m1.tiny", "512"] in rows[1:]
    assert out.splitlines()[0] == '"Name","RAM"'


def test_sort_column(demo: Cli) -> None:
    rows = json_of(demo("flavor", "list", "-f", "json", "--sort-column", "RAM"))
    rams = [row["RAM"] for row in rows]
    assert rams == sorted(rams)
    names = json_of(demo("flavor", "list", "-f", "json", "--sort-column", "name", "-c", "Name"))
    assert [row["Name"] for row in names] == sorted(row["Name"] for row in names)
    assert list(names[0]) == ["Name"]


def test_an_unknown_column_is_a_usage_error(demo: Cli) -> None:
    result = demo("flavor", "list", "-c", "colour")
    assert result.exit_code == 2
    assert "colour" in result.stderr and "ID" in result.stderr
    assert result.stdout == ""


def test_an_unknown_format_is_a_usage_error(demo: Cli) -> None:
    result = demo("flavor", "list", "-f", "xml")
    assert result.exit_code == 2
    assert result.stdout == ""


def test_show_formats(demo: Cli) -> None:
    flavor = json_of(demo("flavor", "show", "m1.tiny", "-f", "json"))
    assert flavor["name"] == "m1.tiny" and flavor["vcpus"] == 1
    bare = ok(demo("flavor", "show", "m1.tiny", "-f", "value", "-c", "ID")).stdout
    assert bare == f"{flavor['id']}\n"
    table = ok(demo("flavor", "show", flavor["id"])).stdout
    assert "| Field" in table and "| ram_mb" in table
    shown = yaml.safe_load(ok(demo("flavor", "show", "m1.tiny", "-f", "yaml", "-c", "name")).stdout)
    assert shown == {"name": "m1.tiny"}
    rows = list(csv.reader(io.StringIO(ok(demo("flavor", "show", "m1.tiny", "-f", "csv")).stdout)))
    assert rows[0] == ["Field", "Value"] and ["name", "m1.tiny"] in rows

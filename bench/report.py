"""What a run reports: each figure as it is measured, the median over rounds, the ratios
against the baselines, the table, the summary against performance.md's targets, and the
machine and versions it ran on (for the results JSON)."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import sqlite3
import statistics
import subprocess
from pathlib import Path
from typing import Any

from bench import ROOT
from bench.figures import SPEC_BY_KEY, SPECS, TARGETS, Spec
from bench.load import error_count


def print_figure(spec: Spec, res: dict[str, Any]) -> None:
    """One line per figure, as soon as it is measured."""
    errors = error_count(res)
    cpu = res.get("cpu_us_per_request")
    print(
        f"  {spec.label:<34} {res['rps']:>8,.0f} req/s  p50 {fmt_ms(res['p50_us']):>6}"
        f" ms  p99 {fmt_ms(res['p99_us']):>7} ms  {cpu or 0:>7,.0f} us CPU/req"
        f"  (others {res['other_cores']:.2f} cores)"
        + (f"  !! {errors} errors/non-2xx" if errors else ""),
        flush=True,
    )


def summarize(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure over its rounds: the median of each number, and every error."""
    out: dict[str, Any] = {"rounds": len(rounds)}
    for name in ("rps", "p50_us", "p90_us", "p99_us", "cpu_us_per_request", "server_cores",
                 "client_cores", "other_cores"):  # fmt: skip
        values = [r[name] for r in rounds if r.get(name) is not None]
        out[name] = statistics.median(values) if values else None
    for name in ("requests", "non2xx", "errors_connect", "errors_read", "errors_write",
                 "errors_timeout"):  # fmt: skip
        out[name] = sum(int(r[name]) for r in rounds)
    out["errors"] = error_count(out)
    for name in ("sample_bad_answer", "server_died", "created_by_status"):
        found = [r[name] for r in rounds if r.get(name)]
        if found:
            out[name] = found[-1]
    return out


def ratios(summary: dict[str, Any], key: str) -> dict[str, dict[str, float]]:
    """A figure against each of its baselines: by requests/s, and by server CPU per request
    (higher is better for both; the CPU one holds up better on a busy machine)."""
    out: dict[str, dict[str, float]] = {}
    res = summary.get(key)
    for base in SPEC_BY_KEY[key].vs:
        ref = summary.get(base)
        if not res or not ref or not ref.get("rps") or not res.get("rps"):
            continue
        item = {"rps": round(res["rps"] / ref["rps"], 3)}
        if res.get("cpu_us_per_request") and ref.get("cpu_us_per_request"):
            item["cpu"] = round(ref["cpu_us_per_request"] / res["cpu_us_per_request"], 3)
        out[base] = item
    return out


def fmt_ms(us: float | None) -> str:
    if us is None:
        return "-"
    ms = us / 1000
    return f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}"


def _verdict(key: str, base: str, value: float) -> str:
    target = TARGETS.get(key)
    if not target or target[0] != base:
        return ""
    return f" (target {target[1]:g}: {'met' if value >= target[1] else 'MISSED'})"


def print_table(kind: str, summary: dict[str, Any], rows: int, rounds: int) -> None:
    headers = ["figure", "req/s", "p50 ms", "p99 ms", "CPU us/req", "errors",
               "ratio by req/s", "ratio by CPU/req"]  # fmt: skip
    table: list[list[str]] = []
    for spec in SPECS:
        res = summary.get(spec.key)
        if res is None:
            continue
        if "error" in res:
            table.append([spec.label, "FAILED", "-", "-", "-", "-", res["error"][:60], ""])
            continue
        by_rps, by_cpu = [], []
        for base, item in ratios(summary, spec.key).items():
            by_rps.append(f"{item['rps']:.2f}x {base}" + _verdict(spec.key, base, item["rps"]))
            if "cpu" in item:
                by_cpu.append(f"{item['cpu']:.2f}x {base}")
        cpu = res.get("cpu_us_per_request")
        table.append(
            [
                spec.label,
                f"{res['rps']:,.0f}",
                fmt_ms(res["p50_us"]),
                fmt_ms(res["p99_us"]),
                f"{cpu:,.0f}" if cpu else "-",
                f"!! {res['errors']}" if res["errors"] else "0",
                ", ".join(by_rps),
                ", ".join(by_cpu),
            ]
        )
    title = f"{kind}: {rows:,} servers" + (f", median of {rounds} rounds" if rounds > 1 else "")
    print()
    try:
        from rich.console import Console
        from rich.table import Table

        rt = Table(title=title, title_justify="left")
        for i, h in enumerate(headers):
            rt.add_column(h, justify="left" if i in (0, 6, 7) else "right")
        for row in table:
            rt.add_row(*row)
        Console(width=180).print(rt)
    except ImportError:
        print(title)
        widths = [max(len(r[i]) for r in [headers, *table]) for i in range(len(headers))]
        for row in [headers, *table]:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    for spec in SPECS:
        res = summary.get(spec.key)
        if res is None or "error" in res:
            continue
        if res["errors"]:
            print(
                f"  !! {spec.label}: {res['non2xx']} answers outside 2xx, socket errors "
                f"connect/read/write/timeout {res['errors_connect']}/{res['errors_read']}/"
                f"{res['errors_write']}/{res['errors_timeout']}"
                + (f"; e.g. {res['sample_bad_answer']}" if res.get("sample_bad_answer") else "")
            )
        if res.get("server_died"):
            print(f"  !! {spec.label}: the server died during the run:\n{res['server_died']}")
        if res.get("created_by_status"):
            print(
                f"  {spec.label}: what it created, by status when the run ended: "
                f"{res['created_by_status']}"
            )
        if (res.get("other_cores") or 0) > 0.3 and kind == "sqlite":
            print(
                f"  ! {spec.label}: other processes used {res['other_cores']:.2f} cores meanwhile"
                " (a busy machine: compare ratios, and the CPU/req column, not absolutes)"
            )


def print_summary(report: dict[str, Any]) -> None:
    dbs = report["databases"]
    if not dbs:
        return
    kinds = list(dbs)
    rows = [(key, base, text) for key, (base, _, text) in TARGETS.items()]
    rows.append(("get", "D", "stretch >= 0.6x D"))
    rows = [r for r in rows if any(dbs[k]["ratios"].get(r[0], {}).get(r[1]) for k in kinds)]
    if rows:
        print("\nThe figures: StackGate / the baseline measured in the same run (req/s; CPU/req)")
        print(f"  {'figure':<30}" + "".join(f"{k:>24}" for k in kinds) + "   target")
    for key, base, text in rows:
        cells = []
        for kind in kinds:
            item = dbs[kind]["ratios"].get(key, {}).get(base)
            cells.append(f"{item['rps']:.2f}x {base}; {item.get('cpu', 0):.2f}x" if item else "-")
        if all(c == "-" for c in cells):
            continue
        print(f"  {SPEC_BY_KEY[key].label:<30}" + "".join(f"{c:>24}" for c in cells) + f"   {text}")


def environment(args: argparse.Namespace) -> dict[str, Any]:
    import importlib.metadata as md

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadgen": args.loadgen,
        "server_cpu": args.server_cpu,
        "client_cpu": args.client_cpu,
    }
    with contextlib.suppress(OSError):
        model = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
        info["cpu_model"] = model.group(1) if model else None
    for pkg in (
        "stackgate",
        "fastapi",
        "starlette",
        "pydantic",
        "sqlalchemy",
        "uvicorn",
        "uvloop",
        "httptools",
        "asyncpg",
        "aiosqlite",
    ):
        with contextlib.suppress(md.PackageNotFoundError):
            info[pkg] = md.version(pkg)
    info["sqlite"] = sqlite3.sqlite_version
    with contextlib.suppress(Exception):
        info["commit"] = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "src"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        info["src_dirty"] = bool(dirty)
    if args.loadgen == "wrk":
        with contextlib.suppress(Exception):
            out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
            info["wrk"] = (out.stdout or out.stderr).splitlines()[0]
    return info

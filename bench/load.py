"""Driving a server under load: wrk with bench/wrk.lua, or bench/loadgen.py where wrk is not
installed, pinned to the load generator's core(s); both print one BENCH_JSON line."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import BENCH
from bench.client import http_get, http_send
from bench.data import Database
from bench.figures import Spec
from bench.processes import cpu_prefix


def pick_loadgen(choice: str) -> str:
    """--loadgen: `auto` is wrk when installed, else the Python load generator."""
    if choice == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    return choice


def load_command(port: int, args: argparse.Namespace, duration: float) -> list[str]:
    url = f"http://127.0.0.1:{port}"
    if args.loadgen == "wrk":
        seconds = f"{max(1, round(duration))}s"
        lua = str(BENCH / "wrk.lua")
        tool = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}"]
        return [*cpu_prefix(args.client_cpu), *tool, "--timeout", "30s", "-s", lua, url]
    loadgen = [sys.executable, str(BENCH / "loadgen.py"), "--url", url]
    options = ["--connections", str(args.connections), "--duration", str(duration)]
    return [*cpu_prefix(args.client_cpu), *loadgen, *options]


def drive(
    spec: Spec,
    port: int,
    args: argparse.Namespace,
    ids_file: Path,
    duration: float,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    env = dict(
        os.environ,
        BENCH_MODE=spec.mode,
        BENCH_PATH=spec.path,
        BENCH_IDS_FILE=str(ids_file),
        BENCH_BODY=spec.body,
        BENCH_HEADERS="\n".join(f"{k}: {v}" for k, v in (headers or {}).items()),
    )
    out = subprocess.run(
        load_command(port, args, duration),
        env=env,
        capture_output=True,
        text=True,
        timeout=duration + 120,
        check=False,
    )
    result: dict[str, Any] | None = None
    bad = None
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            result = json.loads(line[len("BENCH_JSON ") :])
        elif line.startswith("BENCH_BAD "):
            bad = line[len("BENCH_BAD ") :]
    if result is None:
        raise RuntimeError(f"load generator failed ({out.returncode}): {out.stdout}{out.stderr}")
    if bad:
        result["sample_bad_answer"] = bad
    seconds = result["duration_us"] / 1e6
    result["rps"] = result["requests"] / seconds if seconds else 0.0
    return result


def preflight(spec: Spec, port: int, db: Database, headers: dict[str, str]) -> tuple[int, str]:
    url = f"http://127.0.0.1:{port}{spec.path}"
    if spec.mode == "ids":
        status, body = http_get(url + db.ids[0], headers=headers)
    elif spec.mode == "post":
        status, body = http_send("POST", url, spec.body % 0, headers=headers)
    else:
        status, body = http_get(url, headers=headers)
    return status, body[:300].decode(errors="replace")


def error_count(res: dict[str, Any]) -> int:
    """Answers outside 2xx plus socket errors and timeouts."""
    return int(
        res["non2xx"]
        + res["errors_connect"]
        + res["errors_read"]
        + res["errors_write"]
        + res["errors_timeout"]
    )

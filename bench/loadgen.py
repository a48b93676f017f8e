"""A small HTTP/1.1 keep-alive load generator, for machines without `wrk`.

Same configuration (BENCH_MODE, BENCH_PATH, BENCH_IDS_FILE, BENCH_BODY, BENCH_HEADERS variables)
and the same BENCH_JSON output line as bench/wrk.lua. Raw asyncio streams (uvloop if present),
one task per connection, so it can drive a few thousand requests/s from one core; wrk is
several times faster, so the bare-Starlette baseline may be limited by this client.

    python bench/loadgen.py --url http://127.0.0.1:8000 --connections 64 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from urllib.parse import urlsplit


def build_requests(host: str, port: int) -> list[bytes]:
    mode = os.environ.get("BENCH_MODE", "static")
    path = os.environ.get("BENCH_PATH", "/")
    head = f"Host: {host}:{port}\r\nUser-Agent: stackgate-bench\r\n"
    for line in os.environ.get("BENCH_HEADERS", "").splitlines():
        if ":" in line:
            head += line.strip() + "\r\n"
    if mode == "ids":
        with open(os.environ["BENCH_IDS_FILE"]) as fh:
            ids = [line.strip() for line in fh if line.strip()]
        return [f"GET {path}{i} HTTP/1.1\r\n{head}\r\n".encode() for i in ids]
    if mode == "post":
        template = os.environ.get("BENCH_BODY", "{}")
        out = []
        for k in range(1, 1001):
            body = (template % k).encode()
            out.append(
                f"POST {path} HTTP/1.1\r\n{head}Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
        return out
    return [f"GET {path} HTTP/1.1\r\n{head}\r\n".encode()]


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.non2xx = 0
        self.bytes = 0
        self.errors_read = 0
        self.errors_connect = 0
        self.bad: tuple[int, str] | None = None


async def _read_body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    lower = head.lower()
    marker = b"content-length:"
    at = lower.find(marker)
    if at >= 0:
        end = lower.find(b"\r\n", at)
        return await reader.readexactly(int(lower[at + len(marker) : end]))
    if b"transfer-encoding: chunked" in lower:
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    return b""


async def connection(
    host: str, port: int, reqs: list[bytes], stop_at: float, stats: Stats, measure: bool
) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        stats.errors_connect += 1
        return
    i = random.randrange(len(reqs))
    clock = time.perf_counter
    try:
        while clock() < stop_at:
            i = (i + 1) % len(reqs)
            started = clock()
            writer.write(reqs[i])
            head = await reader.readuntil(b"\r\n\r\n")
            body = await _read_body(reader, head)
            elapsed = clock() - started
            status = int(head[9:12])
            if measure:
                stats.latencies.append(elapsed)
                stats.bytes += len(head) + len(body)
                if not 200 <= status <= 299:
                    stats.non2xx += 1
                    if stats.bad is None:
                        stats.bad = (status, body[:300].decode(errors="replace"))
    except (OSError, asyncio.IncompleteReadError, ValueError):
        stats.errors_read += 1
    finally:
        writer.close()


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10)
    args = parser.parse_args()
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    reqs = build_requests(host, port)
    stats = Stats()
    started = time.perf_counter()
    stop_at = started + args.duration
    await asyncio.gather(
        *(connection(host, port, reqs, stop_at, stats, True) for _ in range(args.connections))
    )
    duration = time.perf_counter() - started
    lat = sorted(stats.latencies)
    result = {
        "requests": len(lat),
        "duration_us": int(duration * 1e6),
        "bytes": stats.bytes,
        "non2xx": stats.non2xx,
        "errors_connect": stats.errors_connect,
        "errors_read": stats.errors_read,
        "errors_write": 0,
        "errors_timeout": 0,
        "p50_us": int(_percentile(lat, 50) * 1e6),
        "p90_us": int(_percentile(lat, 90) * 1e6),
        "p99_us": int(_percentile(lat, 99) * 1e6),
        "max_us": int((lat[-1] if lat else 0) * 1e6),
        "mean_us": (sum(lat) / len(lat) * 1e6) if lat else 0.0,
    }
    print("BENCH_JSON " + json.dumps(result))
    if stats.bad is not None:
        print(f"BENCH_BAD {stats.bad[0]} {' '.join(stats.bad[1].split())}")


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())

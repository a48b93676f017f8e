"""The client side of bench/events.py: N Server-Sent Event streams and servers created at a
steady rate, from one process of its own (pinned to the client core by the caller).

Raw asyncio protocols (uvloop if present), HTTP/1.1 with chunked decoding, so that 200 streams
cost the client little: every chunk is stamped with the wall clock as it arrives, and each
event's latency is that stamp minus the event's `occurred_at` (the same machine's clock).
Imports nothing from the bench package (like loadgen.py). Configuration: one JSON argument.
Progress goes to stdout as JSON lines the caller waits on ({"at": "ready"}, "go",
"window_end", "done"); the results go to the file the configuration names.

    python bench/sseclient.py '{"port": 8080, "token": "...", "streams": 200, "rate": 5,
                                "duration": 20, "settle": 3, "out": "/tmp/r.json"}'
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import json
import signal
import sys
import time
from datetime import datetime
from typing import Any, cast

EVENTS_PATH = "/api/v1/events"
CREATE_PATH = "/api/v1/vms"


def emit(at: str, **extra: Any) -> None:
    print(json.dumps({"at": at, "time": time.time(), **extra}), flush=True)


class Stream(asyncio.Protocol):
    """One open GET /api/v1/events: parses the response head, de-chunks the body, splits it
    into events and keeps (seq, receive time, occurred_at) for each."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.status = 0
        self.chunked = False
        self.raw = b""  # body bytes not yet de-chunked
        self.text = ""  # de-chunked text not yet split into events
        self.events: list[tuple[int, float, float]] = []
        self.types: dict[int, str] = {}
        self.comments = 0
        self.other: list[str] = []  # events that are not changes (e.g. resync)
        self.ready = asyncio.get_running_loop().create_future()
        self.closed_at: float | None = None
        self.closing = False
        self.error: str | None = None
        self.last_event_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if not self.status:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = self.head[:end].decode("latin-1"), self.head[end + 4 :]
            lines = head.split("\r\n")
            self.status = int(lines[0].split()[1])
            self.chunked = any(
                line.lower().startswith("transfer-encoding:") and "chunked" in line.lower()
                for line in lines[1:]
            )
            if self.status != 200:
                self.error = f"status {self.status}: {data[:300]!r}"
                if not self.ready.done():
                    self.ready.set_result(False)
                return
        self.raw += data
        if self.chunked:
            self._dechunk()
        else:
            self.text += self.raw.decode()
            self.raw = b""
        self._split(now)

    def _dechunk(self) -> None:
        raw = self.raw
        pos = 0
        parts: list[bytes] = []
        while True:
            eol = raw.find(b"\r\n", pos)
            if eol < 0:
                break
            size = int(raw[pos:eol].split(b";", 1)[0], 16)
            if len(raw) < eol + 2 + size + 2:
                break
            parts.append(raw[eol + 2 : eol + 2 + size])
            pos = eol + 2 + size + 2
            if size == 0:
                self.closing = True
                break
        self.raw = raw[pos:]
        if parts:
            self.text += b"".join(parts).decode()

    def _split(self, now: float) -> None:
        text = self.text
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        *blocks, self.text = text.split("\n\n")
        if blocks and not self.ready.done():
            self.ready.set_result(True)  # the opening comment: the stream is on
        for block in blocks:
            if not block:
                continue
            name, data, ident = "message", "", ""
            comment = True
            for line in block.split("\n"):
                if line.startswith(":"):
                    continue
                comment = False
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    name = value
                elif field == "data":
                    data = value if not data else data + "\n" + value
                elif field == "id":
                    ident = value
            if comment:
                self.comments += 1
                continue
            if not data:
                continue  # e.g. the opening `retry:` with the comment
            try:
                body = json.loads(data)
                seq = int(body["seq"])
                occurred = datetime.fromisoformat(body["occurred_at"]).timestamp()
            except (ValueError, KeyError, TypeError):
                self.other.append(f"{name} {ident} {data[:200]}")
                continue
            self.events.append((seq, now, occurred))
            self.types[seq] = name
            self.last_event_at = now

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed_at = time.time()
        if exc is not None and self.error is None:
            self.error = repr(exc)
        if not self.ready.done():
            self.ready.set_result(False)


class Poster(asyncio.Protocol):
    """One keep-alive connection for POST /api/v1/vms; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = self.buffer[:end].decode("latin-1")
        length = 0
        for line in head.split("\r\n")[1:]:
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        if len(self.buffer) < end + 4 + length:
            return
        body = self.buffer[end + 4 : end + 4 + length]
        self.buffer = self.buffer[end + 4 + length :]
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result((int(head.split(" ", 2)[1]), body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(repr(exc)))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(cfg: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    host, port, token = "127.0.0.1", int(cfg["port"]), cfg["token"]
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    get = (
        f"GET {EVENTS_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: stackgate-bench\r\n"
        f"Accept: text/event-stream\r\n{auth}\r\n"
    ).encode()

    streams: list[Stream] = []
    opening = asyncio.Semaphore(20)

    async def open_one() -> None:
        async with opening:
            _, proto = await loop.create_connection(lambda: Stream(get), host, port)
            streams.append(proto)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(proto.ready), 30)

    started = time.time()
    await asyncio.gather(*(open_one() for _ in range(int(cfg["streams"]))))
    failed = [s.error or "no answer" for s in streams if not (s.ready.done() and s.ready.result())]
    emit("ready", streams=len(streams), failed=len(failed), seconds=time.time() - started)
    if failed:
        emit("error", sample=failed[:3])
    await asyncio.sleep(float(cfg.get("pause", 1.0)))

    rate, duration = float(cfg["rate"]), float(cfg["duration"])
    count = round(rate * duration)
    prefix = cfg.get("prefix", "bench-ev")
    body_template = cfg.get("body", '{"name": "%s", "flavor": "m1.tiny", "image": "cirros-0.6"}')
    idle: list[Poster] = []
    post_latency: list[float] = []
    statuses: dict[str, int] = {}
    late: list[float] = []
    bad: list[str] = []

    async def create(k: int, due: float) -> None:
        lag = loop.time() - due
        late.append(lag)
        poster = idle.pop() if idle else None
        if poster is None or poster.lost:
            _, poster = await loop.create_connection(Poster, host, port)
        body = (body_template % f"{prefix}-{k:05d}").encode()
        request = (
            f"POST {CREATE_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        sent = loop.time()
        try:
            status, answer = await poster.send(request)
        except ConnectionError as exc:
            statuses["error"] = statuses.get("error", 0) + 1
            bad.append(repr(exc))
            return
        post_latency.append((loop.time() - sent) * 1000)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if not 200 <= status <= 299 and len(bad) < 3:
            bad.append(f"{status} {answer[:300]!r}")
        idle.append(poster)

    emit("go")
    t0 = loop.time()
    tasks = []
    for k in range(count):
        due = t0 + k / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(create(k, due)))
    await asyncio.gather(*tasks)
    creates_done = loop.time()
    emit("creates_done", seconds=creates_done - t0)
    window_end = t0 + duration + float(cfg["settle"])
    await asyncio.sleep(max(0.0, window_end - loop.time()))
    emit("window_end", seconds=loop.time() - t0)

    # Let the last events arrive: until no stream got one for `quiet` s (at most `drain` s).
    quiet, drain_until = float(cfg.get("quiet", 2.0)), loop.time() + float(cfg.get("drain", 30))
    while streams and loop.time() < drain_until:
        newest = max(s.last_event_at for s in streams)
        if time.time() - newest >= quiet:
            break
        await asyncio.sleep(0.2)
    # A stream the server ended before this point was dropped (e.g. as too slow).
    ended = [s.closed_at is not None or s.closing for s in streams]
    for s in streams:
        if s.transport is not None:
            s.transport.close()
    for p in idle:
        if p.transport is not None:
            p.transport.close()

    return {
        "streams": [
            {
                "status": s.status,
                "error": s.error,
                "ended_by_server": gone,
                "closed_at": s.closed_at if gone else None,
                "comments": s.comments,
                "other": s.other[:5],
                # [seq, receive time, occurred_at] per event
                "events": s.events,
            }
            for s, gone in zip(streams, ended, strict=True)
        ],
        "posts": {
            "planned": count,
            "statuses": statuses,
            "bad": bad[:3],
            "p50_ms": percentile(post_latency, 0.5),
            "p99_ms": percentile(post_latency, 0.99),
            "max_late_ms": max(late) * 1000 if late else None,
        },
    }


def main() -> None:
    cfg = json.loads(sys.argv[1])
    faulthandler.register(signal.SIGUSR1)  # the caller's watchdog asks where it hangs
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(run(cfg))
    with open(cfg["out"], "w") as out:
        json.dump(result, out)
    emit("done")


if __name__ == "__main__":
    main()

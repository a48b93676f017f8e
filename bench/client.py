"""Plain HTTP to the servers under test: straight to 127.0.0.1, whatever http_proxy says."""

from __future__ import annotations

import urllib.error
import urllib.request

_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(
    url: str, timeout: float = 5, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    try:
        with _HTTP.open(
            urllib.request.Request(url, headers=headers or {}), timeout=timeout
        ) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def http_send(
    method: str, url: str, body: str, timeout: float = 10, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    req = urllib.request.Request(
        url,
        data=body.encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method=method,
    )
    try:
        with _HTTP.open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()

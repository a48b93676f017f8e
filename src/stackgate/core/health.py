"""Liveness and readiness: /health and /health/ready (each dependency checked)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stackgate import __version__

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok", "version": __version__}


async def _probe(name: str, check: Any, limit: float = 3.0) -> dict[str, str]:
    try:
        await asyncio.wait_for(check(), limit)
    except Exception as exc:
        return {"name": name, "status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"name": name, "status": "up"}


@router.get("/health/ready", responses={503: {"description": "A dependency is down."}})
async def ready(request: Request) -> JSONResponse:
    """Readiness: the database and the cloud provider answer."""
    container = request.app.state.container
    checks = await asyncio.gather(
        _probe("database", container.check_database),
        _probe("provider", container.provider.check),
    )
    ok = all(c["status"] == "up" for c in checks)
    body = {"status": "ready" if ok else "unavailable", "checks": list(checks)}
    headers = {} if ok else {"Retry-After": "5"}
    return JSONResponse(body, status_code=200 if ok else 503, headers=headers)

"""nova over the simulator (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["nova"])

"""Identifiers: UUID strings everywhere (DESIGN.md 4)."""

from __future__ import annotations

import uuid


def new_id() -> str:
    return str(uuid.uuid4())


def stable_id(name: str) -> str:
    """A deterministic id for seeded rows, so every database agrees on them."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"stackgate:{name}"))

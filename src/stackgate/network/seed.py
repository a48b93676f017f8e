"""The network every cloud starts with (DevStack's `public`, semantics/devstack.py): shared,
external, the floating-IP pool. Stable ids, so every database agrees on them; the cloud's own
network of that name is looked up by the worker on first use (network/networks/handlers.py)."""

from __future__ import annotations

from stackgate.core.ids import stable_id
from stackgate.semantics.devstack import (
    PRIVATE_CIDR,
    PRIVATE_NETWORK_NAME,
    PRIVATE_SUBNET_NAME,
    PUBLIC_CIDR,
    PUBLIC_GATEWAY,
    PUBLIC_NETWORK_NAME,
    PUBLIC_POOL,
    PUBLIC_SUBNET_NAME,
)

PUBLIC_NETWORK_ID = stable_id("network/public")
PUBLIC_SUBNET_ID = stable_id("subnet/public-subnet")

__all__ = [
    "PRIVATE_CIDR",
    "PRIVATE_NETWORK_NAME",
    "PRIVATE_SUBNET_NAME",
    "PUBLIC_CIDR",
    "PUBLIC_GATEWAY",
    "PUBLIC_NETWORK_ID",
    "PUBLIC_NETWORK_NAME",
    "PUBLIC_POOL",
    "PUBLIC_SUBNET_ID",
    "PUBLIC_SUBNET_NAME",
]

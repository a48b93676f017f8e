"""The network every cloud starts with (DevStack's `public`): shared, external, the floating-IP
pool. Stable ids, so every database agrees on them; the cloud's own network of that name is
looked up by the worker on first use (network/handlers.py)."""

from __future__ import annotations

from stackgate.core.ids import stable_id

PUBLIC_NETWORK_ID = stable_id("network/public")
PUBLIC_SUBNET_ID = stable_id("subnet/public-subnet")
PUBLIC_NETWORK_NAME = "public"
PUBLIC_SUBNET_NAME = "public-subnet"
PUBLIC_CIDR = "172.24.4.0/24"
PUBLIC_GATEWAY = "172.24.4.1"
PUBLIC_POOL = ("172.24.4.2", "172.24.4.254")

# The project network made on first use, and its subnet (DevStack's `private`).
PRIVATE_NETWORK_NAME = "private"
PRIVATE_SUBNET_NAME = "private-subnet"
PRIVATE_CIDR = "10.0.0.0/22"  # DevStack's default range: room for the default ports quota (500)

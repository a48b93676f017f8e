"""The networks a DevStack cloud starts with: `public` (shared, external, the floating-IP pool)
and the `private` project network. The simulator builds its cloud with them and the control
plane seeds and names its own rows after them, so both agree on every name and range."""

from __future__ import annotations

PUBLIC_NETWORK_NAME = "public"
PUBLIC_SUBNET_NAME = "public-subnet"
PUBLIC_CIDR = "172.24.4.0/24"
PUBLIC_GATEWAY = "172.24.4.1"
PUBLIC_POOL = ("172.24.4.2", "172.24.4.254")

PRIVATE_NETWORK_NAME = "private"
PRIVATE_SUBNET_NAME = "private-subnet"
PRIVATE_CIDR = "10.0.0.0/22"  # DevStack's default range: room for the default ports quota (500)

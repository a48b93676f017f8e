"""The flavors and images every install starts with (DevStack's, seeded by the first
migration under stable ids): they stay when a project's own rows go."""

from __future__ import annotations

from stackgate.core.ids import stable_id

SEEDED_FLAVORS = tuple(
    stable_id(f"flavor/{n}") for n in ("m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge")
)
SEEDED_IMAGES = tuple(
    stable_id(f"image/{n}") for n in ("cirros-0.6", "ubuntu-22.04", "debian-12", "fedora-40")
)

"""build_provider(settings): the one switch between clouds, called from bootstrap."""

from __future__ import annotations

from stackgate.config import Settings
from stackgate.providers.base import Provider


def build_provider(settings: Settings) -> Provider:
    if settings.provider == "simulator":
        from stackgate.providers.simulator import SimulatorProvider

        return SimulatorProvider.from_settings(settings)
    if settings.provider == "openstack":
        from stackgate.providers.openstack import OpenStackProvider

        return OpenStackProvider.from_settings(settings)
    raise ValueError(f"unknown provider {settings.provider!r}: use 'simulator' or 'openstack'")

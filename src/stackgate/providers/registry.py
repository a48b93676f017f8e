"""build_provider(settings): the one switch between clouds, called from bootstrap."""

from __future__ import annotations

from stackgate.config import Settings
from stackgate.providers.base import Provider


def build_provider(settings: Settings) -> Provider:
    if settings.provider == "simulator":
        from stackgate.providers.simulator import SimulatorProvider

        return SimulatorProvider.from_settings(settings)
    raise ValueError(
        f"provider {settings.provider!r} is not available in this build; use 'simulator'"
    )

"""The built-in cloud simulator: the default provider and the reference behaviour."""

from stackgate.providers.simulator.provider import HypervisorUsage, SimulatorProvider

__all__ = ["HypervisorUsage", "SimulatorProvider"]

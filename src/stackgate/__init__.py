"""StackGate: a multi-tenant control plane for OpenStack clouds."""

__version__ = "0.1.0"

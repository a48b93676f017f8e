"""The OpenStack provider: the provider contract implemented with openstacksdk. The only code
that imports openstacksdk or keystoneauth (CONVENTIONS.md, Providers)."""

from stackgate.providers.openstack.provider import OpenStackProvider

__all__ = ["OpenStackProvider"]

"""conn.compute through openstacksdk (being written)."""

from __future__ import annotations

from stackgate.providers.openstack.session import CloudSession


class OpenStackCompute:
    def __init__(self, session: CloudSession) -> None:
        self._session = session

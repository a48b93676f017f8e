"""conn.network through openstacksdk: the NetworkProvider contract on Neutron v2.0.

Creates act in the StackGate project's Keystone project (`session.for_project`), so the
resource is that project's and Neutron's quotas apply to it; reads, updates and deletes by id
use the admin connection, which sees every project (Neutron lists everything to an admin).
Tags go in the create body (Neutron's tag-creation extension), so a retried create finds what
an earlier attempt made by its tag."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openstack.connection import Connection
from openstack.exceptions import NotFoundException

from stackgate.providers.network import (
    FixedIP,
    FloatingIPSpec,
    NetworkSpec,
    PortSpec,
    ProviderFloatingIP,
    ProviderNetwork,
    ProviderPort,
    ProviderRule,
    ProviderSecurityGroup,
    ProviderSubnet,
    RuleSpec,
    SecurityGroupSpec,
    SubnetSpec,
)
from stackgate.providers.openstack.session import CloudSession


def _tags(resource: Any) -> tuple[str, ...]:
    return tuple(getattr(resource, "tags", None) or ())


def _tag_query(tags: Iterable[str]) -> dict[str, str]:
    """Neutron's `?tags=a,b`: resources carrying every one of them."""
    wanted = list(tags)
    return {"tags": ",".join(wanted)} if wanted else {}


def _owner(value: Any) -> str | None:
    return str(value) if value else None


def to_network(net: Any) -> ProviderNetwork:
    return ProviderNetwork(
        id=net.id,
        name=net.name or "",
        status=net.status or "ACTIVE",
        project_id=_owner(net.project_id),
        shared=bool(net.is_shared),
        external=bool(net.is_router_external),
        tags=_tags(net),
    )


def to_subnet(sub: Any) -> ProviderSubnet:
    return ProviderSubnet(
        id=sub.id,
        network_id=sub.network_id,
        name=sub.name or "",
        cidr=sub.cidr,
        gateway_ip=sub.gateway_ip,
        allocation_pools=tuple((p["start"], p["end"]) for p in sub.allocation_pools or ()),
        enable_dhcp=bool(sub.is_dhcp_enabled),
        ip_version=int(sub.ip_version or 4),
        tags=_tags(sub),
    )


def to_port(port: Any) -> ProviderPort:
    return ProviderPort(
        id=port.id,
        network_id=port.network_id,
        status=port.status or "DOWN",
        fixed_ips=tuple(FixedIP(f["subnet_id"], f["ip_address"]) for f in port.fixed_ips or ()),
        mac_address=port.mac_address,
        device_id=port.device_id or None,
        device_owner=port.device_owner or "",
        security_group_ids=tuple(port.security_group_ids or ()),
        tags=_tags(port),
    )


def _rule_from(data: Any) -> ProviderRule:
    """A rule from an SDK SecurityGroupRule or the dict a group embeds."""

    def get(key: str) -> Any:
        return data.get(key) if isinstance(data, dict) else getattr(data, key, None)

    ethertype = get("ethertype") if isinstance(data, dict) else data.ether_type
    return ProviderRule(
        id=get("id"),
        security_group_id=get("security_group_id"),
        direction=get("direction"),
        ethertype=ethertype or "IPv4",
        protocol=get("protocol"),
        port_range_min=get("port_range_min"),
        port_range_max=get("port_range_max"),
        remote_ip_prefix=get("remote_ip_prefix"),
        remote_group_id=get("remote_group_id"),
    )


def to_group(group: Any) -> ProviderSecurityGroup:
    return ProviderSecurityGroup(
        id=group.id,
        name=group.name or "",
        project_id=_owner(group.project_id),
        rules=tuple(_rule_from(r) for r in group.security_group_rules or ()),
        tags=_tags(group),
    )


def to_ip(fip: Any) -> ProviderFloatingIP:
    return ProviderFloatingIP(
        id=fip.id,
        floating_ip_address=fip.floating_ip_address,
        floating_network_id=fip.floating_network_id,
        status=fip.status or "DOWN",
        port_id=fip.port_id or None,
        fixed_ip_address=fip.fixed_ip_address or None,
        tags=_tags(fip),
    )


class OpenStackNetwork:
    def __init__(self, session: CloudSession) -> None:
        self._session = session

    def _base(self) -> Connection:
        return self._session.base()

    def _scoped(self, project_id: str) -> Connection:
        return self._session.for_project(project_id)

    # --- networks -----------------------------------------------------------------------

    async def create_network(self, spec: NetworkSpec) -> ProviderNetwork:
        def call() -> ProviderNetwork:
            attrs: dict[str, Any] = {"name": spec.name, "tags": list(spec.tags)}
            if spec.shared or spec.external:
                # shared and router:external are admin-only attributes: the admin connection
                # creates the network on behalf of the project.
                project = self._session.keystone_project_id(spec.project_id)
                attrs.update(
                    project_id=project, is_shared=spec.shared, is_router_external=spec.external
                )
                return to_network(self._base().network.create_network(**attrs))
            return to_network(self._scoped(spec.project_id).network.create_network(**attrs))

        return await self._session.call(call)

    async def get_network(self, network_id: str) -> ProviderNetwork:
        return await self._session.call(
            lambda: to_network(self._base().network.get_network(network_id)), idempotent=True
        )

    async def find_network(self, name: str) -> ProviderNetwork | None:
        """By name, shared ones first then the oldest (several projects may each have a
        `private`: the SDK's find_network would raise DuplicateResource); else by id."""

        def call() -> ProviderNetwork | None:
            network = self._base().network
            found = [to_network(n) for n in network.networks(name=name)]
            if found:
                return sorted(found, key=lambda n: not n.shared)[0]
            try:
                return to_network(network.get_network(name))
            except NotFoundException:
                return None

        return await self._session.call(call, idempotent=True)

    async def networks(self, *, tags: tuple[str, ...] = ()) -> list[ProviderNetwork]:
        return await self._session.call(
            lambda: [to_network(n) for n in self._base().network.networks(**_tag_query(tags))],
            idempotent=True,
        )

    async def delete_network(self, network_id: str) -> None:
        await self._session.call(
            lambda: self._base().network.delete_network(network_id, ignore_missing=True)
        )

    # --- subnets ------------------------------------------------------------------------

    async def create_subnet(self, spec: SubnetSpec) -> ProviderSubnet:
        def call() -> ProviderSubnet:
            attrs: dict[str, Any] = {
                "network_id": spec.network_id,
                "name": spec.name,
                "cidr": spec.cidr,
                "ip_version": spec.ip_version,
                # Sent even when None: an explicit null is Neutron's "no gateway", where a
                # missing key would make it pick the first address.
                "gateway_ip": spec.gateway_ip,
                "is_dhcp_enabled": spec.enable_dhcp,
                "tags": list(spec.tags),
            }
            if spec.allocation_pools:
                attrs["allocation_pools"] = [
                    {"start": a, "end": b} for a, b in spec.allocation_pools
                ]
            return to_subnet(self._scoped(spec.project_id).network.create_subnet(**attrs))

        return await self._session.call(call)

    async def subnets(
        self, *, network_id: str | None = None, tags: tuple[str, ...] = ()
    ) -> list[ProviderSubnet]:
        query: dict[str, Any] = _tag_query(tags)
        if network_id is not None:
            query["network_id"] = network_id
        return await self._session.call(
            lambda: [to_subnet(s) for s in self._base().network.subnets(**query)],
            idempotent=True,
        )

    async def delete_subnet(self, subnet_id: str) -> None:
        await self._session.call(
            lambda: self._base().network.delete_subnet(subnet_id, ignore_missing=True)
        )

    # --- ports --------------------------------------------------------------------------

    async def create_port(self, spec: PortSpec) -> ProviderPort:
        def call() -> ProviderPort:
            attrs: dict[str, Any] = {
                "network_id": spec.network_id,
                "name": spec.name,
                "tags": list(spec.tags),
            }
            if spec.fixed_ips:
                attrs["fixed_ips"] = [
                    {"subnet_id": f.subnet_id, "ip_address": f.ip_address} for f in spec.fixed_ips
                ]
            if spec.security_group_ids:
                attrs["security_group_ids"] = list(spec.security_group_ids)
            if spec.device_owner:
                attrs["device_owner"] = spec.device_owner
            return to_port(self._scoped(spec.project_id).network.create_port(**attrs))

        return await self._session.call(call)

    async def get_port(self, port_id: str) -> ProviderPort:
        return await self._session.call(
            lambda: to_port(self._base().network.get_port(port_id)), idempotent=True
        )

    async def ports(
        self, *, tags: tuple[str, ...] = (), device_id: str | None = None
    ) -> list[ProviderPort]:
        query: dict[str, Any] = _tag_query(tags)
        if device_id is not None:
            query["device_id"] = device_id
        return await self._session.call(
            lambda: [to_port(p) for p in self._base().network.ports(**query)], idempotent=True
        )

    async def update_port(
        self, port_id: str, *, security_group_ids: tuple[str, ...]
    ) -> ProviderPort:
        return await self._session.call(
            lambda: to_port(
                self._base().network.update_port(
                    port_id, security_group_ids=list(security_group_ids)
                )
            )
        )

    async def delete_port(self, port_id: str) -> None:
        """Neutron disassociates the port's floating IPs itself."""
        await self._session.call(
            lambda: self._base().network.delete_port(port_id, ignore_missing=True)
        )

    # --- security groups ----------------------------------------------------------------

    async def create_security_group(self, spec: SecurityGroupSpec) -> ProviderSecurityGroup:
        def call() -> ProviderSecurityGroup:
            group = self._scoped(spec.project_id).network.create_security_group(
                name=spec.name, description=spec.description, tags=list(spec.tags)
            )
            return to_group(group)

        return await self._session.call(call)

    async def find_security_group(
        self, name: str, *, project_id: str
    ) -> ProviderSecurityGroup | None:
        """The project's group by name. A project-scoped listing is what makes Neutron create
        the project's `default` group on first use (securitygroups_db.get_security_groups)."""

        def call() -> ProviderSecurityGroup | None:
            project = self._session.keystone_project_id(project_id)
            network = self._base().network
            found = list(network.security_groups(name=name, project_id=project))
            if found:
                return to_group(sorted(found, key=lambda g: g.created_at or "")[0])
            try:
                group = network.get_security_group(name)
            except NotFoundException:
                return None
            return to_group(group) if group.project_id == project else None

        return await self._session.call(call, idempotent=True)

    async def security_groups(self, *, tags: tuple[str, ...] = ()) -> list[ProviderSecurityGroup]:
        return await self._session.call(
            lambda: [to_group(g) for g in self._base().network.security_groups(**_tag_query(tags))],
            idempotent=True,
        )

    async def delete_security_group(self, group_id: str) -> None:
        await self._session.call(
            lambda: self._base().network.delete_security_group(group_id, ignore_missing=True)
        )

    async def create_security_group_rule(self, spec: RuleSpec) -> ProviderRule:
        """In the group's project (RuleSpec names no project): the admin creates it there, so
        the rule counts against that project's quota as the group's own rules do."""

        def call() -> ProviderRule:
            network = self._base().network
            group = network.get_security_group(spec.security_group_id)
            attrs: dict[str, Any] = {
                "security_group_id": spec.security_group_id,
                "direction": spec.direction,
                "ether_type": spec.ethertype,
                "protocol": spec.protocol,
                "port_range_min": spec.port_range_min,
                "port_range_max": spec.port_range_max,
                "remote_ip_prefix": spec.remote_ip_prefix,
                "remote_group_id": spec.remote_group_id,
                "description": spec.description,
            }
            if group.project_id:
                attrs["project_id"] = group.project_id
            return _rule_from(network.create_security_group_rule(**attrs))

        return await self._session.call(call)

    async def delete_security_group_rule(self, rule_id: str) -> None:
        await self._session.call(
            lambda: self._base().network.delete_security_group_rule(rule_id, ignore_missing=True)
        )

    # --- floating IPs -------------------------------------------------------------------

    async def create_ip(self, spec: FloatingIPSpec) -> ProviderFloatingIP:
        def call() -> ProviderFloatingIP:
            attrs: dict[str, Any] = {
                "floating_network_id": spec.floating_network_id,
                "tags": list(spec.tags),
            }
            if spec.floating_ip_address is None:
                return to_ip(self._scoped(spec.project_id).network.create_ip(**attrs))
            # Choosing the address is admin-only in Neutron's policy: the admin allocates it
            # to the project.
            attrs["floating_ip_address"] = spec.floating_ip_address
            attrs["project_id"] = self._session.keystone_project_id(spec.project_id)
            return to_ip(self._base().network.create_ip(**attrs))

        return await self._session.call(call)

    async def get_ip(self, floating_ip_id: str) -> ProviderFloatingIP:
        return await self._session.call(
            lambda: to_ip(self._base().network.get_ip(floating_ip_id)), idempotent=True
        )

    async def ips(self, *, tags: tuple[str, ...] = ()) -> list[ProviderFloatingIP]:
        return await self._session.call(
            lambda: [to_ip(i) for i in self._base().network.ips(**_tag_query(tags))],
            idempotent=True,
        )

    async def update_ip(
        self, floating_ip_id: str, *, port_id: str | None, fixed_ip_address: str | None = None
    ) -> ProviderFloatingIP:
        """Associate (port_id) or disassociate (None: `{"port_id": null}`)."""
        attrs: dict[str, Any] = {"port_id": port_id}
        if port_id is not None and fixed_ip_address is not None:
            attrs["fixed_ip_address"] = fixed_ip_address
        return await self._session.call(
            lambda: to_ip(self._base().network.update_ip(floating_ip_id, **attrs))
        )

    async def delete_ip(self, floating_ip_id: str) -> None:
        await self._session.call(
            lambda: self._base().network.delete_ip(floating_ip_id, ignore_missing=True)
        )

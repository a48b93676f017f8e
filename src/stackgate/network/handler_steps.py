"""The two halves of a network worker step around the cloud call: `gather` reads what the
call needs from the rows (or says to wait for a parent), `drive` calls the cloud. No
transaction is open while `drive` runs."""

from __future__ import annotations

from dataclasses import dataclass, field

from stackgate.core.operations import Operation
from stackgate.core.tags import tag_for
from stackgate.network.models import FloatingIP, Network, Port, Subnet
from stackgate.network.repository import NetworkRepository
from stackgate.network.seed import PUBLIC_NETWORK_ID
from stackgate.network.service import Status
from stackgate.providers.network import (
    FixedIP,
    FloatingIPSpec,
    NetworkProvider,
    NetworkSpec,
    PortSpec,
    SubnetSpec,
)


@dataclass
class Outcome:
    kind: str  # done | wait | retry | failed
    message: str | None = None
    provider_id: str | None = None
    mac: str | None = None
    adopted_networks: dict[str, str] = field(default_factory=dict)
    adopted_subnets: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NetRef:
    """The parent network as the cloud knows it, or how to find it by name (`public`)."""

    id: str
    provider_id: str | None
    name: str
    adoptable: bool
    subnets: tuple[tuple[str, str, str | None], ...]  # (row id, cidr, provider id)


@dataclass
class Facts:
    resource_type: str
    action: str
    resource_id: str
    project_id: str
    provider_id: str | None
    name: str = ""
    network: NetRef | None = None
    shared: bool = False
    external: bool = False
    subnet: Subnet | None = None
    fixed_ips: tuple[tuple[str, str], ...] = ()  # (subnet row id, address)
    group_ids: tuple[str, ...] = ()
    device_owner: str = ""
    address: str | None = None
    target_port: str | None = None
    fixed_ip: str | None = None


async def load_row(
    repo: NetworkRepository, op: Operation
) -> Network | Subnet | Port | FloatingIP | None:
    match op.resource_type:
        case "network":
            return await repo.network(op.resource_id)
        case "subnet":
            return await repo.subnet(op.resource_id)
        case "port":
            return await repo.port(op.resource_id)
        case _:
            return await repo.floating_ip(op.resource_id)


async def _netref(repo: NetworkRepository, network_id: str) -> NetRef | Outcome:
    network = await repo.network(network_id)
    if network is None:
        return Outcome("failed", f"network {network_id} is gone")
    if network.status == Status.ERROR:
        return Outcome("failed", f"network {network.id} failed: {network.error_message}")
    adoptable = network.provider_id is None and network.id == PUBLIC_NETWORK_ID
    if network.provider_id is None and not adoptable:
        return Outcome("wait", f"waiting for network {network.id} in the cloud")
    subnets = tuple((s.id, s.cidr, s.provider_id) for s in await repo.subnets_of(network.id))
    return NetRef(network.id, network.provider_id, network.name, adoptable, subnets)


async def gather(repo: NetworkRepository, op: Operation) -> Facts | Outcome:
    """What the step needs, read from the rows; or an outcome right away (wait, fail)."""
    row = await load_row(repo, op)
    if row is None:
        return Outcome("done" if op.action == "delete" else "failed", "the row is gone")
    facts = Facts(op.resource_type, op.action, op.resource_id, op.project_id, row.provider_id)
    if op.action == "delete":
        return facts
    if isinstance(row, Network):
        facts.name, facts.shared, facts.external = row.name, row.shared, row.external
        return facts
    if isinstance(row, Subnet):
        ref = await _netref(repo, row.network_id)
        if isinstance(ref, Outcome):
            return ref
        facts.name, facts.network, facts.subnet = row.name, ref, row
        return facts
    if isinstance(row, Port):
        return await _port_facts(repo, row, facts)
    return await _fip_facts(repo, row, op, facts)


async def _port_facts(repo: NetworkRepository, port: Port, facts: Facts) -> Facts | Outcome:
    if facts.action == "update" and port.provider_id is None:
        if port.status == Status.ERROR:
            return Outcome("failed", "the port failed to be created")
        return Outcome("wait", "waiting for the port in the cloud")
    groups = (await repo.groups_of([port.id]))[port.id]
    missing = [g.id for g in groups if g.provider_id is None]
    if missing:
        return Outcome("wait", f"waiting for security group {missing[0]} in the cloud")
    facts.group_ids = tuple(str(g.provider_id) for g in groups)
    if facts.action == "update":
        return facts
    ref = await _netref(repo, port.network_id)
    if isinstance(ref, Outcome):
        return ref
    allocations = await repo.allocations_of([port.id])
    for alloc in allocations:
        subnet = await repo.subnet(alloc.subnet_id)
        if subnet is not None and subnet.status == Status.ERROR:
            return Outcome("failed", f"subnet {subnet.id} failed: {subnet.error_message}")
        if subnet is not None and subnet.provider_id is None and not ref.adoptable:
            return Outcome("wait", f"waiting for subnet {subnet.id} in the cloud")
    facts.name, facts.network, facts.device_owner = port.name, ref, port.device_owner
    facts.fixed_ips = tuple((a.subnet_id, a.ip_address) for a in allocations)
    return facts


async def _fip_facts(
    repo: NetworkRepository, fip: FloatingIP, op: Operation, facts: Facts
) -> Facts | Outcome:
    if op.action == "create":
        ref = await _netref(repo, fip.floating_network_id)
        if isinstance(ref, Outcome):
            return ref
        facts.network, facts.address = ref, fip.floating_ip_address
        return facts
    if fip.provider_id is None:
        if op.action == "disassociate":
            return Outcome("done")  # the create makes it unassociated anyway
        if fip.status == Status.ERROR:
            return Outcome("failed", "the floating IP failed to be allocated")
        return Outcome("wait", "waiting for the floating IP in the cloud")
    if op.action == "associate":
        target = op.params.get("port_id")
        if fip.port_id is None or fip.port_id != target:
            return Outcome("done", "superseded by a newer request")
        port = await repo.port(str(target))
        if port is None:
            return Outcome("done", "the port is gone")
        if port.status == Status.ERROR:
            return Outcome("failed", f"port {port.id} failed: {port.error_message}")
        if port.provider_id is None:
            return Outcome("wait", f"waiting for port {port.id} in the cloud")
        facts.target_port, facts.fixed_ip = port.provider_id, fip.fixed_ip_address
    return facts


async def _resolve(cloud: NetworkProvider, ref: NetRef, outcome: Outcome) -> str | None:
    """The parent's cloud id; an adoptable one (`public`) is looked up by name, with its
    subnets matched by CIDR, and recorded in `outcome`."""
    if ref.provider_id is not None:
        return ref.provider_id
    found = await cloud.find_network(ref.name)
    if found is None:
        return None
    outcome.adopted_networks[ref.id] = found.id
    by_cidr = {s.cidr: s.id for s in await cloud.subnets(network_id=found.id)}
    for row_id, cidr, provider_id in ref.subnets:
        if provider_id is None and cidr in by_cidr:
            outcome.adopted_subnets[row_id] = by_cidr[cidr]
    return found.id


async def drive(cloud: NetworkProvider, f: Facts) -> Outcome:
    """Call the cloud for one step; every call is safe to repeat."""
    tags = (tag_for(f.resource_id),)
    if f.action == "delete":
        return await _delete(cloud, f, tags)
    out = Outcome("done")
    match f.resource_type, f.action:
        case "network", "create":
            if f.provider_id is None:
                found = await cloud.networks(tags=tags)
                net = (
                    found[0]
                    if found
                    else await cloud.create_network(
                        NetworkSpec(f.name, f.project_id, f.shared, f.external, tags)
                    )
                )
                out.provider_id = net.id
        case "subnet", "create":
            assert f.network is not None and f.subnet is not None
            net_id = await _resolve(cloud, f.network, out)
            if net_id is None:
                return Outcome("wait", f"network {f.network.name} is not in the cloud yet")
            adopted = out.adopted_subnets.get(f.resource_id)
            found_subnets = [] if adopted else await cloud.subnets(tags=tags)
            if adopted or found_subnets:
                out.provider_id = adopted or found_subnets[0].id
            else:
                s = f.subnet
                made = await cloud.create_subnet(
                    SubnetSpec(
                        network_id=net_id,
                        name=s.name,
                        cidr=s.cidr,
                        project_id=f.project_id,
                        gateway_ip=s.gateway_ip,
                        allocation_pools=((s.pool_start, s.pool_end),),
                        enable_dhcp=s.enable_dhcp,
                        ip_version=s.ip_version,
                        tags=tags,
                    )
                )
                out.provider_id = made.id
        case "port", "create":
            return await _create_port(cloud, f, tags, out)
        case "port", "update":
            assert f.provider_id is not None
            await cloud.update_port(f.provider_id, security_group_ids=f.group_ids)
        case "floating_ip", "create":
            assert f.network is not None
            net_id = await _resolve(cloud, f.network, out)
            if net_id is None:
                return Outcome("wait", f"network {f.network.name} is not in the cloud yet")
            found_ips = await cloud.ips(tags=tags)
            ip = (
                found_ips[0]
                if found_ips
                else await cloud.create_ip(FloatingIPSpec(net_id, f.project_id, f.address, tags))
            )
            out.provider_id = ip.id
        case "floating_ip", "associate":
            assert f.provider_id is not None
            await cloud.update_ip(f.provider_id, port_id=f.target_port, fixed_ip_address=f.fixed_ip)
        case "floating_ip", "disassociate":
            assert f.provider_id is not None
            await cloud.update_ip(f.provider_id, port_id=None)
        case _:
            return Outcome("failed", f"unsupported {f.resource_type} action {f.action}")
    return out


async def _create_port(
    cloud: NetworkProvider, f: Facts, tags: tuple[str, ...], out: Outcome
) -> Outcome:
    assert f.network is not None
    if f.provider_id is not None:
        return out
    net_id = await _resolve(cloud, f.network, out)
    if net_id is None:
        return Outcome("wait", f"network {f.network.name} is not in the cloud yet")
    found = await cloud.ports(tags=tags)
    if found:
        out.provider_id, out.mac = found[0].id, found[0].mac_address
        return out
    subnet_ids = {row_id: pid for row_id, _, pid in f.network.subnets if pid is not None}
    subnet_ids.update(out.adopted_subnets)
    fixed = []
    for subnet_row, address in f.fixed_ips:
        if subnet_row not in subnet_ids:
            return Outcome("wait", f"subnet {subnet_row} is not in the cloud yet")
        fixed.append(FixedIP(subnet_ids[subnet_row], address))
    port = await cloud.create_port(
        PortSpec(
            network_id=net_id,
            project_id=f.project_id,
            name=f.name,
            fixed_ips=tuple(fixed),
            security_group_ids=f.group_ids,
            device_owner=f.device_owner,
            tags=tags,
        )
    )
    out.provider_id, out.mac = port.id, port.mac_address
    return out


async def _delete(cloud: NetworkProvider, f: Facts, tags: tuple[str, ...]) -> Outcome:
    """Delete what the row made, found by its id or its tag; a missing one is deleted."""
    pid = f.provider_id
    match f.resource_type:
        case "network":
            pid = pid or next((n.id for n in await cloud.networks(tags=tags)), None)
            if pid:
                await cloud.delete_network(pid)
        case "subnet":
            pid = pid or next((s.id for s in await cloud.subnets(tags=tags)), None)
            if pid:
                await cloud.delete_subnet(pid)
        case "port":
            pid = pid or next((p.id for p in await cloud.ports(tags=tags)), None)
            if pid:
                await cloud.delete_port(pid)
        case _:
            pid = pid or next((i.id for i in await cloud.ips(tags=tags)), None)
            if pid:
                await cloud.delete_ip(pid)
    return Outcome("done")

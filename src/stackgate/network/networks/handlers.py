"""Worker side of the network feature's cloud rows (networks, subnets, ports, floating IPs):
`load` reads what the step needs from the rows (or says to wait for a parent), `drive` calls
the cloud with no transaction open, `record` writes the outcome. Every step is safe to repeat:
a create first looks for what an earlier attempt made (by tag).

`CloudRowHandler` is what the four share; this module drives networks and subnets, ports/ and
floating_ips/ hold their own decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from stackgate.core.operations import Operation, OpResult
from stackgate.core.tags import tag_for
from stackgate.network.models import FloatingIP, Network, Port, Status, Subnet
from stackgate.network.networks.repository import NetworkRepository
from stackgate.network.networks.service import NetworkUoW
from stackgate.network.seed import PUBLIC_NETWORK_ID
from stackgate.providers.base import ProviderConflict, ProviderNotFound
from stackgate.providers.network import NetworkProvider, NetworkSpec, SubnetSpec
from stackgate.worker.handler import Kind, OperationHandler, Outcome

CloudRow = Network | Subnet | Port | FloatingIP
U = TypeVar("U", bound=NetworkUoW)


@dataclass(slots=True)
class CloudDetail:
    """What a step learned of a cloud row: its cloud id, the MAC the cloud gave a port, and
    parents found in the cloud by name (the seeded `public` network and its subnet)."""

    provider_id: str | None = None
    mac: str | None = None
    adopted_networks: dict[str, str] = field(default_factory=dict)
    adopted_subnets: dict[str, str] = field(default_factory=dict)


Result = Outcome[CloudDetail]


def done() -> Result:
    return Outcome(Kind.DONE, detail=CloudDetail())


def wait(message: str) -> Result:
    return Outcome(Kind.PROGRESS, message)


def failed(message: str | None) -> Result:
    return Outcome(Kind.FAILED, message)


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


async def netref(repo: NetworkRepository, network_id: str) -> NetRef | Result:
    """The parent network of a subnet, port or floating IP; wait while it is not in the
    cloud (unless it is one to adopt by name)."""
    network = await repo.network(network_id)
    if network is None:
        return failed(f"network {network_id} is gone")
    if network.status == Status.ERROR:
        return failed(f"network {network.id} failed: {network.error_message}")
    adoptable = network.provider_id is None and network.id == PUBLIC_NETWORK_ID
    if network.provider_id is None and not adoptable:
        return wait(f"waiting for network {network.id} in the cloud")
    subnets = tuple((s.id, s.cidr, s.provider_id) for s in await repo.subnets_of(network.id))
    return NetRef(network.id, network.provider_id, network.name, adoptable, subnets)


async def resolve(cloud: NetworkProvider, ref: NetRef, detail: CloudDetail) -> str | None:
    """The parent's cloud id; an adoptable one (`public`) is looked up by name, with its
    subnets matched by CIDR, and recorded in `detail`."""
    if ref.provider_id is not None:
        return ref.provider_id
    found = await cloud.find_network(ref.name)
    if found is None:
        return None
    detail.adopted_networks[ref.id] = found.id
    by_cidr = {s.cidr: s.id for s in await cloud.subnets(network_id=found.id)}
    for row_id, cidr, provider_id in ref.subnets:
        if provider_id is None and cidr in by_cidr:
            detail.adopted_subnets[row_id] = by_cidr[cidr]
    return found.id


class CloudRowHandler(OperationHandler[U, Facts, CloudDetail], Generic[U]):
    """The step every network cloud row shares; a sub-feature writes `row`, `gather`, `make`,
    `delete_in_cloud`, `remove` and `succeed`."""

    async def row(self, uow: U, op: Operation) -> CloudRow | None:
        raise NotImplementedError

    async def gather(self, uow: U, row: CloudRow, op: Operation, facts: Facts) -> Facts | Result:
        """The facts of a create or change, or an outcome from the rows alone."""
        raise NotImplementedError

    async def make(self, facts: Facts) -> Result:
        """Create or change the resource in the cloud."""
        raise NotImplementedError

    async def delete_in_cloud(self, facts: Facts, tags: tuple[str, ...]) -> None:
        raise NotImplementedError

    async def remove(self, uow: U, row: CloudRow) -> None:
        raise NotImplementedError

    def succeed(self, row: CloudRow, op: Operation, detail: CloudDetail) -> None:
        """The row once the cloud has done the create or change."""
        raise NotImplementedError

    async def load(self, uow: U, op: Operation) -> Facts | Result:
        row = await self.row(uow, op)
        if row is None:
            return done() if op.action == "delete" else failed("the row is gone")
        facts = Facts(
            op.resource_type,
            op.action,
            op.resource_id,
            op.project_id,
            row.provider_id,
        )
        if op.action == "delete":
            return facts
        return await self.gather(uow, row, op, facts)

    async def drive(self, facts: Facts) -> Result:
        try:
            if facts.action == "delete":
                await self.delete_in_cloud(facts, (tag_for(facts.resource_id),))
                return done()
            return await self.make(facts)
        except ProviderNotFound as exc:
            return done() if facts.action == "delete" else failed(exc.message)
        except ProviderConflict as exc:
            # A delete meets a resource still in use in the cloud: try again later.
            kind = Kind.RETRY if facts.action == "delete" else Kind.FAILED
            return Outcome(kind, exc.message)

    async def record_unloaded(self, uow: U, op: Operation, outcome: Result, now: datetime) -> None:
        if now >= op.deadline_at:
            outcome = failed(f"{op.action} did not finish within its deadline")
        await self._apply(uow, op, outcome, now)

    async def record(
        self, uow: U, op: Operation, facts: Facts, outcome: Result, now: datetime
    ) -> None:
        await self._apply(uow, op, outcome, now)

    async def _apply(self, uow: U, op: Operation, outcome: Result, now: datetime) -> None:
        detail = outcome.detail or CloudDetail()
        await self._adopt(uow.networks, detail)
        row = await self.row(uow, op)
        if outcome.kind == Kind.RETRY and now >= op.deadline_at:
            outcome = failed(outcome.message)
        match outcome.kind:
            case Kind.PROGRESS | Kind.RETRY:
                # Waiting on a parent: at once for the first few tries (it is usually being
                # made in the same round), then backing off; a cloud error backs off at once.
                soon = outcome.kind == Kind.PROGRESS and op.attempts <= 3
                delay = 0.0 if soon else self.backoff(op.attempts)
                op.reschedule(now + timedelta(seconds=delay), outcome.message)
            case Kind.DONE:
                if row is not None and op.action == "delete":
                    await self.remove(uow, row)
                elif row is not None:
                    if detail.provider_id is not None and row.provider_id is None:
                        row.provider_id = detail.provider_id
                    row.error_message = None
                    self.succeed(row, op, detail)
                op.finish(OpResult.SUCCESS, outcome.message, now=now)
            case _:
                if row is not None:
                    row.error_message = outcome.message
                    if op.action != "delete":
                        row.status = Status.ERROR
                op.finish(OpResult.ERROR, outcome.message, now=now)

    @staticmethod
    async def _adopt(repo: NetworkRepository, detail: CloudDetail) -> None:
        for network_id, provider_id in detail.adopted_networks.items():
            network = await repo.network(network_id)
            if network is not None and network.provider_id is None:
                network.provider_id = provider_id
                network.status = Status.ACTIVE
        for subnet_id, provider_id in detail.adopted_subnets.items():
            subnet = await repo.subnet(subnet_id)
            if subnet is not None and subnet.provider_id is None:
                subnet.provider_id = provider_id
                subnet.status = Status.ACTIVE


class NetworkOperationHandler(CloudRowHandler[NetworkUoW]):
    """Drives "network" and "subnet" operations."""

    def uow(self) -> NetworkUoW:
        return NetworkUoW(self._sessionmaker)

    async def row(self, uow: NetworkUoW, op: Operation) -> CloudRow | None:
        if op.resource_type == "network":
            return await uow.networks.network(op.resource_id)
        return await uow.networks.subnet(op.resource_id)

    async def gather(
        self, uow: NetworkUoW, row: CloudRow, op: Operation, facts: Facts
    ) -> Facts | Result:
        if isinstance(row, Network):
            facts.name, facts.shared, facts.external = row.name, row.shared, row.external
            return facts
        assert isinstance(row, Subnet)
        ref = await netref(uow.networks, row.network_id)
        if isinstance(ref, Outcome):
            return ref
        facts.name, facts.network, facts.subnet = row.name, ref, row
        return facts

    async def make(self, f: Facts) -> Result:
        cloud = self._provider.network
        tags = (tag_for(f.resource_id),)
        out = done()
        detail = out.detail
        assert detail is not None
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
                    detail.provider_id = net.id
            case "subnet", "create":
                assert f.network is not None and f.subnet is not None
                net_id = await resolve(cloud, f.network, detail)
                if net_id is None:
                    return wait(f"network {f.network.name} is not in the cloud yet")
                adopted = detail.adopted_subnets.get(f.resource_id)
                found_subnets = [] if adopted else await cloud.subnets(tags=tags)
                if adopted or found_subnets:
                    detail.provider_id = adopted or found_subnets[0].id
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
                    detail.provider_id = made.id
            case _:
                return failed(f"unsupported {f.resource_type} action {f.action}")
        return out

    async def delete_in_cloud(self, f: Facts, tags: tuple[str, ...]) -> None:
        """Delete what the row made, found by its id or its tag; a missing one is deleted."""
        cloud, pid = self._provider.network, f.provider_id
        if f.resource_type == "network":
            pid = pid or next((n.id for n in await cloud.networks(tags=tags)), None)
            if pid:
                await cloud.delete_network(pid)
        else:
            pid = pid or next((s.id for s in await cloud.subnets(tags=tags)), None)
            if pid:
                await cloud.delete_subnet(pid)

    async def remove(self, uow: NetworkUoW, row: CloudRow) -> None:
        if isinstance(row, Network):
            await uow.networks.remove_network(row)
        else:
            assert isinstance(row, Subnet)
            await uow.networks.remove_subnet(row)

    def succeed(self, row: CloudRow, op: Operation, detail: CloudDetail) -> None:
        row.status = Status.ACTIVE

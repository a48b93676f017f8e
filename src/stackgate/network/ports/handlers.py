"""Worker side of ports: make them in the cloud once their network, subnets and security
groups are there, apply group changes, delete them (the rows and addresses go after)."""

from __future__ import annotations

from stackgate.core.operations import Operation
from stackgate.core.tags import tag_for
from stackgate.network.models import Port, Status
from stackgate.network.networks.handlers import (
    CloudDetail,
    CloudRow,
    CloudRowHandler,
    Facts,
    Result,
    done,
    failed,
    netref,
    resolve,
    wait,
)
from stackgate.network.ports.service import PortUoW
from stackgate.providers.network import FixedIP, PortSpec
from stackgate.worker.handler import Outcome


class PortOperationHandler(CloudRowHandler[PortUoW]):
    """Drives "port" operations."""

    def uow(self) -> PortUoW:
        return PortUoW(self._sessionmaker)

    async def row(self, uow: PortUoW, op: Operation) -> CloudRow | None:
        return await uow.ports.get(op.resource_id)

    async def gather(
        self, uow: PortUoW, row: CloudRow, op: Operation, facts: Facts
    ) -> Facts | Result:
        assert isinstance(row, Port)
        port = row
        if facts.action == "update" and port.provider_id is None:
            if port.status == Status.ERROR:
                return failed("the port failed to be created")
            return wait("waiting for the port in the cloud")
        groups = (await uow.ports.groups_of([port.id]))[port.id]
        missing = [g.id for g in groups if g.provider_id is None]
        if missing:
            return wait(f"waiting for security group {missing[0]} in the cloud")
        facts.group_ids = tuple(str(g.provider_id) for g in groups)
        if facts.action == "update":
            return facts
        ref = await netref(uow.networks, port.network_id)
        if isinstance(ref, Outcome):
            return ref
        allocations = await uow.networks.allocations_of([port.id])
        for alloc in allocations:
            subnet = await uow.networks.subnet(alloc.subnet_id)
            if subnet is not None and subnet.status == Status.ERROR:
                return failed(f"subnet {subnet.id} failed: {subnet.error_message}")
            if subnet is not None and subnet.provider_id is None and not ref.adoptable:
                return wait(f"waiting for subnet {subnet.id} in the cloud")
        facts.name, facts.network, facts.device_owner = port.name, ref, port.device_owner
        facts.fixed_ips = tuple((a.subnet_id, a.ip_address) for a in allocations)
        return facts

    async def make(self, f: Facts) -> Result:
        cloud = self._provider.network
        if f.action == "update":
            assert f.provider_id is not None
            await cloud.update_port(f.provider_id, security_group_ids=f.group_ids)
            return done()
        if f.action != "create":
            return failed(f"unsupported {f.resource_type} action {f.action}")
        out = done()
        detail = out.detail
        assert f.network is not None and detail is not None
        if f.provider_id is not None:
            return out
        net_id = await resolve(cloud, f.network, detail)
        if net_id is None:
            return wait(f"network {f.network.name} is not in the cloud yet")
        tags = (tag_for(f.resource_id),)
        found = await cloud.ports(tags=tags)
        if found:
            detail.provider_id, detail.mac = found[0].id, found[0].mac_address
            return out
        subnet_ids = {row_id: pid for row_id, _, pid in f.network.subnets if pid is not None}
        subnet_ids.update(detail.adopted_subnets)
        fixed = []
        for subnet_row, address in f.fixed_ips:
            if subnet_row not in subnet_ids:
                return wait(f"subnet {subnet_row} is not in the cloud yet")
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
        detail.provider_id, detail.mac = port.id, port.mac_address
        return out

    async def delete_in_cloud(self, f: Facts, tags: tuple[str, ...]) -> None:
        cloud = self._provider.network
        pid = f.provider_id or next((p.id for p in await cloud.ports(tags=tags)), None)
        if pid:
            await cloud.delete_port(pid)

    async def remove(self, uow: PortUoW, row: CloudRow) -> None:
        assert isinstance(row, Port)
        await uow.ports.remove(row)

    def succeed(self, row: CloudRow, op: Operation, detail: CloudDetail) -> None:
        assert isinstance(row, Port)
        if op.action == "create":
            row.mac_address = detail.mac or row.mac_address
            row.status = Status.ACTIVE if row.device_id else Status.DOWN

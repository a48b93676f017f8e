"""Worker side of floating IPs: allocate the address in the cloud, point it at a port (once
the port is there), let go of it, release it."""

from __future__ import annotations

from stackgate.core.operations import Operation
from stackgate.core.tags import tag_for
from stackgate.network.floating_ips.service import FloatingIPUoW
from stackgate.network.models import FloatingIP, Status
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
from stackgate.providers.network import FloatingIPSpec
from stackgate.worker.handler import Kind, Outcome


class FloatingIPOperationHandler(CloudRowHandler[FloatingIPUoW]):
    """Drives "floating_ip" operations."""

    def uow(self) -> FloatingIPUoW:
        return FloatingIPUoW(self._sessionmaker)

    async def row(self, uow: FloatingIPUoW, op: Operation) -> CloudRow | None:
        return await uow.floating_ips.get(op.resource_id)

    async def gather(
        self, uow: FloatingIPUoW, row: CloudRow, op: Operation, facts: Facts
    ) -> Facts | Result:
        assert isinstance(row, FloatingIP)
        fip = row
        if op.action == "create":
            ref = await netref(uow.networks, fip.floating_network_id)
            if isinstance(ref, Outcome):
                return ref
            facts.network, facts.address = ref, fip.floating_ip_address
            return facts
        if fip.provider_id is None:
            if op.action == "disassociate":
                return done()  # the create makes it unassociated anyway
            if fip.status == Status.ERROR:
                return failed("the floating IP failed to be allocated")
            return wait("waiting for the floating IP in the cloud")
        if op.action == "associate":
            target = op.params.get("port_id")
            if fip.port_id is None or fip.port_id != target:
                return Outcome(Kind.DONE, "superseded by a newer request", detail=CloudDetail())
            port = await uow.ports.get(str(target))
            if port is None:
                return Outcome(Kind.DONE, "the port is gone", detail=CloudDetail())
            if port.status == Status.ERROR:
                return failed(f"port {port.id} failed: {port.error_message}")
            if port.provider_id is None:
                return wait(f"waiting for port {port.id} in the cloud")
            facts.target_port, facts.fixed_ip = port.provider_id, fip.fixed_ip_address
        return facts

    async def make(self, f: Facts) -> Result:
        cloud = self._provider.network
        match f.action:
            case "create":
                out = done()
                assert f.network is not None and out.detail is not None
                net_id = await resolve(cloud, f.network, out.detail)
                if net_id is None:
                    return wait(f"network {f.network.name} is not in the cloud yet")
                tags = (tag_for(f.resource_id),)
                found = await cloud.ips(tags=tags)
                ip = (
                    found[0]
                    if found
                    else await cloud.create_ip(
                        FloatingIPSpec(net_id, f.project_id, f.address, tags)
                    )
                )
                out.detail.provider_id = ip.id
                return out
            case "associate":
                assert f.provider_id is not None
                await cloud.update_ip(
                    f.provider_id, port_id=f.target_port, fixed_ip_address=f.fixed_ip
                )
            case "disassociate":
                assert f.provider_id is not None
                await cloud.update_ip(f.provider_id, port_id=None)
            case _:
                return failed(f"unsupported {f.resource_type} action {f.action}")
        return done()

    async def delete_in_cloud(self, f: Facts, tags: tuple[str, ...]) -> None:
        cloud = self._provider.network
        pid = f.provider_id or next((i.id for i in await cloud.ips(tags=tags)), None)
        if pid:
            await cloud.delete_ip(pid)

    async def remove(self, uow: FloatingIPUoW, row: CloudRow) -> None:
        assert isinstance(row, FloatingIP)
        await uow.floating_ips.remove(row)

    def succeed(self, row: CloudRow, op: Operation, detail: CloudDetail) -> None:
        assert isinstance(row, FloatingIP)
        if op.action == "associate":
            # Only if it still points where this operation pointed it (no newer request since).
            if row.port_id is not None and row.port_id == op.params.get("port_id"):
                row.status = Status.ACTIVE
        elif row.port_id is None:
            row.status = Status.DOWN

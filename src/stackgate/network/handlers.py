"""Worker side of network operations (networks, subnets, ports, floating IPs): read what the
step needs (short transaction), call the cloud with no transaction open, then record the
outcome in a second short transaction that first checks the lease is still ours. Every step is
safe to repeat: a create first looks for what an earlier attempt made (by tag)."""

from __future__ import annotations

from datetime import timedelta

import structlog

from stackgate.core.operations import Operation, OpResult, OpState
from stackgate.network.handler_steps import Facts, Outcome, drive, gather, load_row
from stackgate.network.models import FloatingIP, Network, Port, Subnet
from stackgate.network.network_service import NetworkUoW
from stackgate.network.repository import NetworkRepository
from stackgate.network.service import Status
from stackgate.providers.base import (
    ProviderConflict,
    ProviderError,
    ProviderNotFound,
    ProviderUnavailable,
)
from stackgate.worker.base import ProviderHandler

log = structlog.get_logger("stackgate.worker")


class NetworkOperationHandler(ProviderHandler):
    """Drives "network", "subnet", "port" and "floating_ip" operations."""

    async def handle(self, op_id: str, owner: str) -> None:
        """Advance one network-side operation by one step."""
        async with NetworkUoW(self._sessionmaker) as uow:
            op = await uow.operations.get(op_id)
            if op is None or op.lease_owner != owner:
                return
            if op.state != OpState.PENDING:  # cancelled since we claimed it: let go
                op.lease_owner = op.lease_until = None
                await uow.commit()
                return
            now = self._clock.now()
            # A delete waits until a running step of another operation (a create that may be
            # making the resource right now) has ended, so it finds what that made.
            busy = op.action == "delete" and await uow.operations.leased_for_resource(
                op.resource_id, now=now, exclude=op.id
            )
            facts_or_outcome = await gather(uow.networks, op)
        facts = facts_or_outcome if isinstance(facts_or_outcome, Facts) else None
        if busy:
            outcome = Outcome("wait", "waiting for another operation on this resource")
        elif now >= op.deadline_at:
            outcome = Outcome("failed", f"{op.action} did not finish within its deadline")
        elif facts is None:
            assert isinstance(facts_or_outcome, Outcome)
            outcome = facts_or_outcome
        else:
            try:
                outcome = await drive(self._provider.network, facts)
            except ProviderUnavailable as exc:
                outcome = Outcome("retry", f"cloud unavailable: {exc.message}")
            except ProviderNotFound as exc:
                outcome = Outcome("done" if op.action == "delete" else "failed", exc.message)
            except ProviderConflict as exc:
                kind = "retry" if op.action == "delete" else "failed"
                outcome = Outcome(kind, exc.message)
            except ProviderError as exc:
                outcome = Outcome("failed", exc.message)
        await self._record(op_id, owner, outcome)

    async def _record(self, op_id: str, owner: str, outcome: Outcome) -> None:
        now = self._clock.now()
        async with NetworkUoW(self._sessionmaker) as uow:
            op = await uow.operations.get(op_id)
            if op is None or op.lease_owner != owner:
                return  # our lease was lost: the new owner decides
            if op.state != OpState.PENDING:
                op.lease_owner = op.lease_until = None
                await uow.commit()
                return
            repo = uow.networks
            await _apply_adoptions(repo, outcome)
            match outcome.kind:
                case "wait" | "retry":
                    if outcome.kind == "retry" and now >= op.deadline_at:
                        await _fail(repo, op, outcome.message)
                        op.finish(OpResult.ERROR, outcome.message)
                    else:
                        delay = self._delay(op.attempts, outcome.kind == "retry")
                        op.next_attempt_at = now + timedelta(seconds=delay)
                        op.lease_owner = op.lease_until = None
                        op.message = outcome.message
                case "done":
                    await _succeed(repo, op, outcome)
                    op.finish(OpResult.SUCCESS, outcome.message)
                case _:
                    await _fail(repo, op, outcome.message)
                    op.finish(OpResult.ERROR, outcome.message)
            await uow.commit()
        log.info(
            "network_operation_step",
            op_id=op_id,
            resource_type=op.resource_type,
            action=op.action,
            kind=outcome.kind,
            message=outcome.message,
        )

    def _delay(self, attempts: int, retry: bool) -> float:
        """Waiting on a parent: at once for the first few tries (it is usually being made in
        the same round), then backing off; a cloud error backs off from the start."""
        if not retry and attempts <= 3:
            return 0.0
        return self._backoff(attempts)


async def _apply_adoptions(repo: NetworkRepository, outcome: Outcome) -> None:
    """Rows found in the cloud by name (the seeded `public` network and its subnet)."""
    for network_id, provider_id in outcome.adopted_networks.items():
        network = await repo.network(network_id)
        if network is not None and network.provider_id is None:
            network.provider_id = provider_id
            network.status = Status.ACTIVE
    for subnet_id, provider_id in outcome.adopted_subnets.items():
        subnet = await repo.subnet(subnet_id)
        if subnet is not None and subnet.provider_id is None:
            subnet.provider_id = provider_id
            subnet.status = Status.ACTIVE


CloudRow = Network | Subnet | Port | FloatingIP


async def _remove(repo: NetworkRepository, row: CloudRow) -> None:
    if isinstance(row, Network):
        await repo.remove_network(row)
    elif isinstance(row, Subnet):
        await repo.remove_subnet(row)
    elif isinstance(row, Port):
        await repo.remove_port(row)
    else:
        await repo.remove_floating_ip(row)


async def _succeed(repo: NetworkRepository, op: Operation, outcome: Outcome) -> None:
    row = await load_row(repo, op)
    if row is None:
        return
    if op.action == "delete":
        await _remove(repo, row)
        return
    if outcome.provider_id is not None and row.provider_id is None:
        row.provider_id = outcome.provider_id
    row.error_message = None
    if isinstance(row, Network | Subnet):
        row.status = Status.ACTIVE
    elif isinstance(row, Port):
        if op.action == "create":
            row.mac_address = outcome.mac or row.mac_address
            row.status = Status.ACTIVE if row.device_id else Status.DOWN
    elif op.action == "associate":
        # Only if it still points where this operation pointed it (no newer request since).
        if row.port_id is not None and row.port_id == op.params.get("port_id"):
            row.status = Status.ACTIVE
    elif row.port_id is None:
        row.status = Status.DOWN


async def _fail(repo: NetworkRepository, op: Operation, message: str | None) -> None:
    row = await load_row(repo, op)
    if row is None:
        return
    row.error_message = message
    if op.action != "delete":
        row.status = Status.ERROR

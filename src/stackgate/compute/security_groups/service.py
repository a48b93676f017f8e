"""add-security-group / remove-security-group (Nova's addSecurityGroup / removeSecurityGroup):
the group is linked to (or unlinked from) every port of the server at once, and a port
update operation per port lets the network worker apply it in the cloud."""

from __future__ import annotations

from dataclasses import replace

from stackgate.compute.errors import (
    GroupAlreadyOnServer,
    GroupNotOnServer,
    ServerHasNoPorts,
)
from stackgate.compute.security_groups.schemas import SecurityGroupAction
from stackgate.compute.servers.repository import details_of
from stackgate.compute.servers.schemas import ServerDetail
from stackgate.compute.servers.service import ServerService
from stackgate.core.context import RequestContext
from stackgate.core.operations import OpResult
from stackgate.identity.public import policy
from stackgate.network import public as network
from stackgate.semantics.nova import Action


class ServerSecurityGroupService:
    def __init__(self, servers: ServerService) -> None:
        self._servers = servers

    async def change(
        self, ctx: RequestContext, server_id: str, data: SecurityGroupAction, *, add: bool
    ) -> ServerDetail:
        """Add (409 if already there) or remove (404 if not there) a group on every port."""
        policy.enforce(ctx, "server:security_group")
        async with self._servers.uow() as uow:
            server = await self._servers.load(uow, ctx, server_id)
            # The cloud admin acts on another project's server with that project's groups.
            owner = replace(ctx, project_id=server.project_id)
            (group,) = await network.resolve_groups(
                uow, owner, [data.name], operations=self._servers.operations
            )
            ports = await network.ports_of_server(uow.session, server.id)
            if not ports:
                raise ServerHasNoPorts(server.id)
            current = await network.groups_of_ports(uow.session, [p.id for p in ports])
            on_ports = [p.id for p in ports if any(g.id == group.id for g in current[p.id])]
            if add and len(on_ports) == len(ports):
                raise GroupAlreadyOnServer(server.id, data.name)
            if not add and not on_ports:
                raise GroupNotOnServer(server.id, data.name)
            for port in ports:
                groups = [g for g in current[port.id] if g.id != group.id]
                if add:
                    groups.append(group)
                await network.set_port_groups(uow, port.id, groups)
                network.queue_port_update(
                    uow,
                    ctx,
                    project_id=server.project_id,
                    port_id=port.id,
                    params={"security_group_ids": [g.id for g in groups]},
                    operations=self._servers.operations,
                )
            action = Action.ADD_SECURITY_GROUP if add else Action.REMOVE_SECURITY_GROUP
            # Logged in the instance action log; the port operations do the cloud's part.
            now = self._servers.clock.now()
            record = self._servers.new_operation(
                ctx, server, action, {"group_id": group.id}, now=now
            )
            record.finish(OpResult.SUCCESS, now=now)
            uow.operations.add(record)
            server.updated_at = now
            await uow.commit()
            (detail,) = await details_of(uow.session, [server], cloud_admin=ctx.is_admin)
        self._servers.wake()
        return detail

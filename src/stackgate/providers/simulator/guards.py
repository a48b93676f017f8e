"""Refusals, worded as Nova words them (nova/api/openstack/common.py, nova/exception.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.providers.base import (
    FlavorSpec,
    ImageSpec,
    ProviderBadRequest,
    ProviderConflict,
    ProviderNotFound,
)
from stackgate.providers.simulator.lifecycle import settle, view_of
from stackgate.providers.simulator.tables import SimServer
from stackgate.semantics.nova import (
    Action,
    InvalidStateTransition,
    ServerLocked,
    check_action,
    rule_for,
)

# The API method names Nova puts in its 409 messages.
_NOVA_METHOD: dict[str, str] = {
    Action.CONFIRM_RESIZE: "confirmResize",
    Action.REVERT_RESIZE: "revertResize",
    Action.SNAPSHOT: "createImage",
}


def server_not_found(server_id: str) -> ProviderNotFound:
    return ProviderNotFound(f"Instance {server_id} could not be found.", status_code=404)


async def locked_server(session: AsyncSession, server_id: str, now: datetime) -> SimServer:
    """The server row locked for this transaction, its due operation applied."""
    server = await session.get(SimServer, server_id, with_for_update=True, populate_existing=True)
    if server is None or not await settle(session, server, now):
        raise server_not_found(server_id)
    return server


def allow(
    server: SimServer, action: str, now: datetime, *, reboot_type: str = "SOFT"
) -> str | None:
    """The task_state `action` sets, or ProviderConflict (409) where Nova refuses it."""
    view = view_of(server, now)
    try:
        return check_action(action, view, server_id=server.id, reboot_type=reboot_type)
    except ServerLocked as exc:
        raise ProviderConflict(f"Instance {server.id} is locked", status_code=409) from exc
    except InvalidStateTransition as exc:
        rule = rule_for(action, reboot_type)
        attr: str
        state: Any
        if view.vm_state not in rule.vm_states:
            attr, state = "vm_state", view.vm_state
        elif rule.task_states is not None and view.task_state not in rule.task_states:
            attr, state = "task_state", view.task_state
        else:
            attr, state = "launched_at", None  # must_have_launched: it never reached ACTIVE
        method = _NOVA_METHOD.get(action, action)
        raise ProviderConflict(
            f"Cannot '{method}' instance {server.id} while it is in {attr} {state}",
            status_code=409,
        ) from exc


def check_boot(flavor: FlavorSpec, image: ImageSpec) -> None:
    """Nova's FlavorMemoryTooSmall / FlavorDiskTooSmall (400) checks on create and rebuild."""
    if flavor.vcpus < 1 or flavor.ram_mb < 1 or flavor.disk_gb < 0:
        raise ProviderBadRequest(f"Invalid flavor {flavor.name!r}", status_code=400)
    if flavor.ram_mb < image.min_ram_mb:
        raise ProviderBadRequest(
            "Flavor's memory is too small for requested image.", status_code=400
        )
    # A zero-disk flavor sizes the root disk from the image, so min_disk cannot fail it.
    if flavor.disk_gb and flavor.disk_gb < image.min_disk_gb:
        raise ProviderBadRequest("Flavor's disk is too small for requested image.", status_code=400)


def check_resize(current: dict[str, Any], new: FlavorSpec) -> None:
    """CannotResizeToSameFlavor (400) and the new flavor's own sanity."""
    same_id = new.id is not None and new.id == current.get("id")
    if same_id or new.name == current["name"]:
        raise ProviderBadRequest("When resizing, instances must change flavor!", status_code=400)
    if new.vcpus < 1 or new.ram_mb < 1 or new.disk_gb < 0:
        raise ProviderBadRequest(f"Invalid flavor {new.name!r}", status_code=400)

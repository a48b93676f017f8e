"""What the fake Neutron's routes share: its refusals (neutron_lib's exception classes and
messages), reading the simulator's store, request bodies, and list queries (filters, tags,
fields, sorting, limit/marker) as neutron/api/v2/base.py applies them."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import QueryParams

from stackgate.fakecloud.auth import Caller
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.errors import CloudError, from_provider
from stackgate.providers.base import ProviderError

T = TypeVar("T")
SERVICE = "neutron"

# Simulator messages (worded as neutron_lib words them) -> the exception class Neutron names
# in its error body's "type" (neutron_lib/exceptions/__init__.py, l3.py, extensions/
# securitygroup.py). First match wins.
_TYPES: tuple[tuple[str, str], ...] = (
    (r"^Network \S+ could not be found", "NetworkNotFound"),
    (r"^Subnet \S+ could not be found", "SubnetNotFound"),
    (r"^Port \S+ could not be found", "PortNotFound"),
    (r"^Floating IP \S+ could not be found", "FloatingIPNotFound"),
    (r"^Security group rule \S+ does not exist", "SecurityGroupRuleNotFound"),
    (r"^Security group \S+ does not exist", "SecurityGroupNotFound"),
    (r"^Security group rule already exists", "SecurityGroupRuleExists"),
    (r"^Security Group \S+ in use", "SecurityGroupInUse"),
    (r"ports still in use on the network", "NetworkInUse"),
    (r"have an IP allocation from this subnet", "SubnetInUse"),
    (r"already allocated in subnet", "IpAddressAlreadyAllocated"),
    (r"^No more IP addresses available", "IpAddressGenerationFailure"),
    (r"is not a valid IP for the specified subnet", "InvalidIpForSubnet"),
    (r"^Unable to find any IP address on external network", "ExternalIpAddressExhausted"),
    (r"^Cannot associate floating IP", "FloatingIPPortAlreadyAssociated"),
    (r"conflicts with allocation pool", "GatewayConflictWithAllocationPools"),
    (r"^Invalid input for operation", "InvalidInput"),
    (r"^Quota exceeded for resources", "OverQuota"),
)


def error_type(message: str) -> str | None:
    for pattern, name in _TYPES:
        if re.search(pattern, message):
            return name
    return None


def refusal(exc: ProviderError) -> CloudError:
    """A simulator refusal in Neutron's body, typed by its exception class."""
    return from_provider(SERVICE, exc, neutron_type=error_type(exc.message))


async def sim_call(call: Awaitable[T]) -> T:
    """Await a simulator proxy call; its refusal leaves as Neutron's."""
    try:
        return await call
    except ProviderError as exc:
        raise refusal(exc) from exc


def error(status: int, message: str, kind: str | None = None) -> CloudError:
    return CloudError(SERVICE, status, message, neutron_type=kind or error_type(message))


def not_found(kind: str, resource_id: str) -> CloudError:
    """NetworkNotFound & co.: also what a caller gets for another project's resource."""
    if kind == "Security group":
        return error(404, f"Security group {resource_id} does not exist", "SecurityGroupNotFound")
    if kind == "Security group rule":
        return error(
            404, f"Security group rule {resource_id} does not exist", "SecurityGroupRuleNotFound"
        )
    names = {
        "Network": "NetworkNotFound",
        "Subnet": "SubnetNotFound",
        "Port": "PortNotFound",
        "Floating IP": "FloatingIPNotFound",
    }
    return error(404, f"{kind} {resource_id} could not be found.", names.get(kind, "NotFound"))


def bad_request(message: str) -> CloudError:
    return error(400, message, "BadRequest")


def policy_refused(rule: str) -> CloudError:
    # neutron/policy.py: PolicyNotAuthorized, "(rule:<action>) is disallowed by policy."
    return error(403, f"(rule:{rule}) is disallowed by policy.", "PolicyNotAuthorized")


async def read(cloud: FakeCloud, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    return await cloud.sim.store.run(work)


async def write(cloud: FakeCloud, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    return await cloud.sim.store.run(work, write=True)


def before_read(cloud: FakeCloud, call: str) -> None:
    """Reads served from the store still answer the simulator's injected API errors."""
    try:
        cloud.sim.faults.before_call(call)
    except ProviderError as exc:
        raise refusal(exc) from exc


# --- request bodies -------------------------------------------------------------------------


def resource_body(body: Any, key: str) -> dict[str, Any]:
    """`{"<key>": {...}}`, else Neutron's 400."""
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise bad_request(f"Unable to find '{key}' in request body")
    found: dict[str, Any] = body[key]
    return found


def text(data: dict[str, Any], key: str, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise bad_request(f"Invalid input for {key}. Reason: '{value}' is not a valid string.")
    return value


def optional_text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"Invalid input for {key}. Reason: '{value}' is not a valid string.")
    return value


def flag(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise bad_request(f"Invalid input for {key}. Reason: '{value}' is not a valid boolean value.")


def optional_int(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise bad_request(f"Invalid input for {key}. Reason: '{value}' is not an integer.")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise bad_request(f"Invalid input for {key}. Reason: '{value}' is not an integer.") from exc


def tag_list(data: dict[str, Any], key: str = "tags") -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise bad_request(f"Invalid input for {key}. Reason: '{value}' is not a list of strings.")
    return tuple(dict.fromkeys(value))


def owner_for(caller: Caller, data: dict[str, Any], resource: str) -> str:
    """The project a new resource belongs to: the caller's, or (admin only) the one asked."""
    asked = data.get("project_id") or data.get("tenant_id")
    assert caller.project_id is not None
    if asked is None or asked == caller.project_id:
        return caller.project_id
    if not caller.is_admin:
        raise policy_refused(f"create_{resource}")
    return str(asked)


def owns(caller: Caller, owner: str | None) -> bool:
    return caller.is_admin or (owner is not None and owner == caller.project_id)


# --- views ----------------------------------------------------------------------------------


def timestamp(value: datetime) -> str:
    """Neutron's standard-attr timestamps: seconds, UTC, with a Z."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def standard_attrs(
    owner: str | None, created_at: datetime, tags: Iterable[str], description: str = ""
) -> dict[str, Any]:
    """What every Neutron resource with standard attributes carries."""
    stamp = timestamp(created_at)
    return {
        "tenant_id": owner or "",
        "project_id": owner or "",
        "description": description,
        "tags": list(tags),
        "created_at": stamp,
        "updated_at": stamp,
        "revision_number": 1,
    }


# --- list queries ---------------------------------------------------------------------------

_CONTROL = {
    "fields",
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "page_reverse",
    "tags",
    "tags-any",
    "not-tags",
    "not-tags-any",
    "all_tenants",
    "all_projects",
}


def _split(values: list[str]) -> set[str]:
    return {t for v in values for t in v.split(",") if t}


def _matches(item: dict[str, Any], key: str, wanted: list[str]) -> bool:
    if key == "fixed_ips":
        # ?fixed_ips=ip_address=10.0.0.5&fixed_ips=subnet_id=<id> (ports)
        fixed = item.get("fixed_ips", [])
        for entry in wanted:
            name, _, value = entry.partition("=")
            if not any(str(f.get(name)) == value for f in fixed):
                return False
        return True
    if key not in item:
        return True  # an attribute this fake does not model filters nothing out
    value = item[key]
    if isinstance(value, bool):
        return str(value).lower() in {w.lower() for w in wanted}
    if isinstance(value, list):
        return any(w in value for w in wanted)
    if value is None:
        return any(w in ("", "None", "null") for w in wanted)
    return str(value) in wanted


def _tagged(item: dict[str, Any], params: QueryParams) -> bool:
    tags = set(item.get("tags", []))
    every, anyof = _split(params.getlist("tags")), _split(params.getlist("tags-any"))
    none_all, none_any = _split(params.getlist("not-tags")), _split(params.getlist("not-tags-any"))
    if every and not every <= tags:
        return False
    if anyof and not anyof & tags:
        return False
    if none_all and none_all <= tags:
        return False
    return not (none_any and none_any & tags)


def _sort_key(name: str) -> Callable[[dict[str, Any]], str]:
    def key(item: dict[str, Any]) -> str:
        return str(item.get(name, ""))

    return key


def fields_only(request: Request) -> QueryParams:
    """A GET of one resource honours `fields` only."""
    return QueryParams([("fields", f) for f in request.query_params.getlist("fields")])


def select_items(items: list[dict[str, Any]], params: QueryParams) -> list[dict[str, Any]]:
    """Filter (equality, several values OR-ed), tags, sort, marker/limit and fields."""
    for key in params:
        if key in _CONTROL:
            continue
        wanted = params.getlist(key)
        items = [i for i in items if _matches(i, key, wanted)]
    items = [i for i in items if _tagged(i, params)]
    sort_keys = params.getlist("sort_key")
    if sort_keys:
        dirs = params.getlist("sort_dir")
        # Stable sorts from the last key to the first: the first key ends up primary.
        for index in reversed(range(len(sort_keys))):
            reverse = index < len(dirs) and dirs[index] == "desc"
            items.sort(key=_sort_key(sort_keys[index]), reverse=reverse)
    marker = params.get("marker")
    if marker:
        ids = [i["id"] for i in items]
        items = items[ids.index(marker) + 1 :] if marker in ids else []
    limit = params.get("limit")
    if limit:
        try:
            items = items[: max(int(limit), 0) or None]
        except ValueError as exc:
            raise bad_request(
                f"Bad limit request: Limit must be an integer 0 or greater and not '{limit}'."
            ) from exc
    fields = params.getlist("fields")
    if fields:
        items = [{k: v for k, v in i.items() if k in fields} for i in items]
    return items

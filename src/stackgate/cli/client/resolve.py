"""Names or ids wherever an id is taken: an id is tried first, then the name; a name several
resources share is an error listing them (use the id)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from stackgate.cli.client import http
from stackgate.cli.client.errors import CliError
from stackgate.cli.client.http import Api

PAGE = 1000


@dataclass(frozen=True)
class Kind:
    """A collection of the API: how to fetch one, list them and filter by name."""

    noun: str  # "server", for messages
    path: str  # "/api/v1/vms"
    name_filter: bool = True  # the list takes ?name=
    paged: bool = True  # keyset paging (limit/cursor); otherwise one {"items": [...]}
    name_key: str = "name"

    def one(self, resource_id: str) -> str:
        return f"{self.path}/{quote(resource_id, safe='')}"


SERVER = Kind("server", "/api/v1/vms")
VOLUME = Kind("volume", "/api/v1/volumes")
VOLUME_SNAPSHOT = Kind("volume snapshot", "/api/v1/volume-snapshots", name_filter=False)
NETWORK = Kind("network", "/api/v1/networks")
SUBNET = Kind("subnet", "/api/v1/subnets", name_filter=False)
PORT = Kind("port", "/api/v1/ports", name_filter=False)
SECURITY_GROUP = Kind("security group", "/api/v1/security-groups")
FLOATING_IP = Kind(
    "floating ip", "/api/v1/floating-ips", name_filter=False, name_key="floating_ip_address"
)
FLAVOR = Kind("flavor", "/api/v1/flavors")
IMAGE = Kind("image", "/api/v1/images")
PROJECT = Kind("project", "/api/v1/projects", name_filter=False)
USER = Kind("user", "/api/v1/users", name_filter=False)
CREDENTIAL = Kind(
    "application credential", "/api/v1/application-credentials", name_filter=False, paged=False
)


def list_all(api: Api, kind: Kind, **params: Any) -> list[dict[str, Any]]:
    """Every item, following next_cursor."""
    return list(iter_all(api, kind, **params))


def iter_all(api: Api, kind: Kind, **params: Any) -> Iterator[dict[str, Any]]:
    if not kind.paged:
        yield from api.get(kind.path, **params).get("items", [])
        return
    cursor: str | None = None
    while True:
        body = api.get(kind.path, **params, limit=PAGE, cursor=cursor)
        yield from body.get("items", [])
        cursor = body.get("next_cursor")
        if not cursor:
            return


def find(api: Api, kind: Kind, name_or_id: str) -> dict[str, Any]:
    """The one resource with this id, or else this name."""
    response = http.send(api.client, "GET", kind.one(name_or_id), headers=api.auth_headers)
    if response.is_success:
        return response.json()  # type: ignore[no-any-return]
    if response.status_code not in (400, 404, 422):
        raise http.api_error(response, api.target)
    params = {"name": name_or_id} if kind.name_filter else {}
    matches = [
        item for item in iter_all(api, kind, **params) if item.get(kind.name_key) == name_or_id
    ]
    if not matches:
        raise CliError(f"no {kind.noun} with the name or id {name_or_id!r}")
    if len(matches) > 1:
        listed = "\n".join(f"  {item['id']}" for item in matches)
        raise CliError(
            f"{len(matches)} {kind.noun}s are named {name_or_id!r}; give an id instead:\n{listed}"
        )
    return matches[0]


def find_id(api: Api, kind: Kind, name_or_id: str) -> str:
    return str(find(api, kind, name_or_id)["id"])

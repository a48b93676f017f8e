"""Neutron v2.0 over the simulator, under /networking (DevStack's path).

Version discovery (`GET /networking/` lists v2.0, `GET /networking/v2.0/` its resources, as
neutron/api/versions.py and neutron/api/v2/router.py answer), the extension list clients probe,
and the resources in neutron_networks.py, neutron_ports.py, neutron_security_groups.py,
neutron_floating_ips.py, neutron_quotas.py and neutron_tags.py. Like DevStack, the cloud has a
`private` network of the `admin` project next to the simulator's shared `public` one:
`seed_private_network(cloud)` makes it when the fake starts (idempotent).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackgate.core.ids import stable_id
from stackgate.fakecloud import (
    neutron_floating_ips,
    neutron_networks,
    neutron_ports,
    neutron_quotas,
    neutron_security_groups,
    neutron_tags,
)
from stackgate.fakecloud.auth import CallerDep, base_url
from stackgate.fakecloud.cloud import FakeCloud, fixed_id
from stackgate.fakecloud.neutron_common import error
from stackgate.providers.simulator.tables import SimNetwork, SimSubnet

PRIVATE_NETWORK_ID = stable_id("fakecloud/network/private")
PRIVATE_SUBNET_ID = stable_id("fakecloud/subnet/private-subnet")
PRIVATE_CIDR = "10.0.0.0/26"
PRIVATE_GATEWAY = "10.0.0.1"
PRIVATE_POOL = ("10.0.0.2", "10.0.0.62")


async def seed_private_network(cloud: FakeCloud) -> None:
    """DevStack's `private` network and `private-subnet` (10.0.0.0/26), owned by the `admin`
    project, so `openstack server create --network private` works. Safe to call again."""

    async def work(session: AsyncSession) -> None:
        if await session.get(SimNetwork, PRIVATE_NETWORK_ID) is not None:
            return
        now = datetime.now(UTC)
        owner = fixed_id("project", "admin")
        session.add(
            SimNetwork(
                id=PRIVATE_NETWORK_ID,
                name="private",
                project_id=owner,
                shared=False,
                external=False,
                status="ACTIVE",
                tags=[],
                created_at=now,
            )
        )
        session.add(
            SimSubnet(
                id=PRIVATE_SUBNET_ID,
                network_id=PRIVATE_NETWORK_ID,
                name="private-subnet",
                project_id=owner,
                cidr=PRIVATE_CIDR,
                ip_version=4,
                gateway_ip=PRIVATE_GATEWAY,
                pools=[list(PRIVATE_POOL)],
                enable_dhcp=True,
                tags=[],
                created_at=now,
            )
        )
        await session.flush()

    try:
        await cloud.sim.store.run(work, write=True)
    except IntegrityError:
        return  # another request seeded it first


router = APIRouter(tags=["neutron"])

_RESOURCES = (
    ("network", "networks"),
    ("subnet", "subnets"),
    ("port", "ports"),
    ("security_group", "security-groups"),
    ("security_group_rule", "security-group-rules"),
    ("floatingip", "floatingips"),
    ("quota", "quotas"),
)

# What this fake implements, by the aliases clients check (neutron-lib api/definitions).
_EXTENSIONS = (
    ("external-net", "Neutron external network", "Adds external network attribute."),
    ("security-group", "security-group", "The security groups extension."),
    ("quotas", "Quota management support", "Expose functions for quotas management."),
    ("quota_details", "Quota details extension", "Expose functions for quotas usage."),
    ("standard-attr-tag", "Tag support for resources", "Enables to set tag on resources."),
    ("tag-creation", "Tag creation extension", "Allow to set tags on resource creation."),
    ("standard-attr-description", "standard-attr-description", "Extension to add descriptions."),
    ("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at."),
    ("standard-attr-revisions", "Resource revision numbers", "Exposes revision_number."),
    ("port-security", "Port Security", "Provides port security."),
    ("fip-port-details", "Floating IP Port Details Extension", "Add port_details to FIPs."),
    ("binding", "Port Binding", "Expose port bindings of a virtual port."),
    ("project-id", "project_id field enabled", "Extension that indicates project_id is enabled."),
)


def _extension(alias: str, name: str, description: str) -> dict[str, Any]:
    return {
        "alias": alias,
        "name": name,
        "description": description,
        "updated": "2019-01-01T10:00:00-00:00",
        "links": [],
    }


def _versions(request: Request) -> dict[str, Any]:
    href = f"{base_url(request)}/networking/v2.0/"
    return {
        "versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"href": href, "rel": "self"}]}]
    }


@router.get("", include_in_schema=False)
@router.get("/")
async def versions(request: Request) -> dict[str, Any]:
    return _versions(request)


@router.get("/v2.0", include_in_schema=False)
@router.get("/v2.0/")
async def resources(request: Request) -> dict[str, Any]:
    root = f"{base_url(request)}/networking/v2.0"
    return {
        "resources": [
            {
                "name": name,
                "collection": collection,
                "links": [{"href": f"{root}/{collection}", "rel": "self"}],
            }
            for name, collection in _RESOURCES
        ]
    }


@router.get("/v2.0/extensions")
async def extensions(caller: CallerDep) -> dict[str, Any]:
    return {"extensions": [_extension(*e) for e in _EXTENSIONS]}


@router.get("/v2.0/extensions/{alias}")
async def extension(alias: str, caller: CallerDep) -> dict[str, Any]:
    for found in _EXTENSIONS:
        if found[0] == alias:
            return {"extension": _extension(*found)}
    raise error(404, f"Extension with alias {alias} does not exist", "NotFound")


for _module in (
    neutron_networks,
    neutron_ports,
    neutron_security_groups,
    neutron_floating_ips,
    neutron_quotas,
    neutron_tags,
):
    router.include_router(_module.router)

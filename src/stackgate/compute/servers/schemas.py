"""Server request and response bodies (the body of a server is shared by every sub-feature's
routes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    computed_field,
    model_validator,
)

from stackgate.core.pagination import PageMeta
from stackgate.core.schemas import (
    Description,
    Flag,
    Input,
    Metadata,
    Name,
    Output,
    Ref,
    Text,
    json_integer,
)

UserData = Annotated[Text, StringConstraints(max_length=65535)]
VolumeId = Ref


class BootVolume(Input):
    """Boot from a new volume made from the server's image (Nova block_device_mapping_v2
    source image, destination volume, boot_index 0)."""

    size: Annotated[int, Field(ge=1, le=16384), Strict(), BeforeValidator(json_integer)] = Field(
        description="Size of the root volume in GB (at least the image's min_disk)."
    )
    delete_on_termination: Flag = Field(
        True, description="Delete the volume with the server (default true)."
    )


class ServerCreate(Input):
    name: Name
    flavor: Annotated[Ref, Field(examples=["m1.small"])]
    image: Annotated[Ref, Field(examples=["cirros-0.6"])]
    description: Description | None = None
    metadata: Metadata = Field(default_factory=dict)
    key_name: Name | None = None
    user_data: UserData | None = Field(None, description="Cloud-init user data (max 64 KiB).")
    networks: list[Ref] | None = Field(
        None,
        max_length=16,
        description="Networks (ids or names) to plug a port into, one port each; default: the "
        "project's private network.",
    )
    security_groups: list[Ref] | None = Field(
        None,
        max_length=16,
        description="Security groups (names or ids) of the server's ports; default: default.",
    )
    boot_volume: BootVolume | None = Field(
        None, description="Boot from a new volume made from the image."
    )
    volumes: list[VolumeId] = Field(
        default_factory=list,
        max_length=16,
        description="Ids of your available volumes to attach once the server is ACTIVE.",
    )


_UPDATABLE = ("name", "description", "metadata")


class ServerUpdate(Input):
    # The schema says what the validator below checks, so clients (and generated tests) know.
    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": [field]} for field in _UPDATABLE]}
    )

    name: Name | None = None
    description: Description | None = None
    metadata: Metadata | None = Field(None, description="Replaces the whole metadata map.")
    version: (
        Annotated[int, Field(ge=1, le=2**31 - 1), Strict(), BeforeValidator(json_integer)] | None
    ) = Field(None, description="The version you read; a newer one on the server answers 409.")

    @model_validator(mode="after")
    def _something(self) -> ServerUpdate:
        # What was sent counts, not its value: `"description": null` clears the description.
        if not self.model_fields_set.intersection(_UPDATABLE):
            raise ValueError("give at least one of name, description, metadata")
        return self


class AddressRead(Output):
    addr: str
    type: Literal["fixed", "floating"]
    port_id: str | None = None
    mac_addr: str | None = None


class SecurityGroupName(Output):
    name: str


class VolumeAttachedRead(Output):
    id: str
    device: str | None
    delete_on_termination: bool


@dataclass(slots=True)
class ServerDetail:
    """A server row with what other features know about it (ports, groups, volumes), so a
    body is rendered without a query per server."""

    server: Any
    addresses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    security_groups: list[str] = field(default_factory=list)
    volumes: list[dict[str, Any]] = field(default_factory=list)
    provider_id: str | None = None  # the cloud's id, filled in for cloud admins only

    def first_fixed_address(self) -> str | None:
        """The server's first fixed address (the `ip_address` field kept from the seed API)."""
        for addresses in self.addresses.values():
            for address in addresses:
                if address.get("type") == "fixed":
                    return str(address["addr"])
        return None


class FlavorCopy(Output):
    id: str | None = Field(
        description="The catalog flavor this was copied from; it may have been deleted since."
    )
    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int


class ImageRef(Output):
    id: str | None
    name: str | None


class FaultRead(Output):
    code: int
    message: str
    created: datetime


class Link(Output):
    rel: str
    href: str


def _row_of(data: Any) -> dict[str, Any]:
    """The body fields of a server row (flavor and image copies, fault)."""
    row = {
        name: getattr(data, name)
        for name in (
            "id",
            "project_id",
            "name",
            "description",
            "status",
            "vm_state",
            "task_state",
            "power_state",
            "locked",
            "locked_reason",
            "ip_address",
            "metadata_",
            "key_name",
            "created_at",
            "updated_at",
            "launched_at",
            "deleted_at",
            "version",
        )
    }
    row["flavor"] = {
        "id": data.flavor_id,
        "name": data.flavor_name,
        "vcpus": data.vcpus,
        "ram_mb": data.ram_mb,
        "disk_gb": data.disk_gb,
    }
    row["image"] = {"id": data.image_id, "name": data.image_name}
    row["fault"] = (
        None
        if data.fault_code is None
        else {
            "code": data.fault_code,
            "message": data.fault_message,
            "created": data.fault_created_at,
        }
    )
    return row


class ServerRead(Output):
    id: str
    project_id: str
    name: str
    description: str | None
    flavor: FlavorCopy
    image: ImageRef
    status: str
    vm_state: str
    task_state: str | None
    power_state: int
    locked: bool
    locked_reason: str | None
    ip_address: str | None
    metadata: dict[str, str] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    key_name: str | None
    fault: FaultRead | None
    addresses: dict[str, list[AddressRead]] = Field(
        default_factory=dict, description="Fixed and floating addresses per network name."
    )
    security_groups: list[SecurityGroupName] = Field(default_factory=list)
    volumes_attached: list[VolumeAttachedRead] = Field(default_factory=list)
    provider_id: str | None = Field(
        None,
        description="The server's id in the cloud behind StackGate (Nova's id, as `openstack "
        "server show` takes it); shown to cloud admins only, null for everyone else and "
        "before the cloud has made it.",
    )
    created_at: datetime
    updated_at: datetime
    launched_at: datetime | None
    deleted_at: datetime | None
    version: int

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return data
        if isinstance(data, ServerDetail):
            row = _row_of(data.server)
            row["addresses"] = data.addresses
            row["security_groups"] = [{"name": name} for name in data.security_groups]
            row["volumes_attached"] = data.volumes
            row["provider_id"] = data.provider_id
            return row
        return _row_of(data)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def links(self) -> list[Link]:
        return [Link(rel="self", href=f"/api/v1/vms/{self.id}")]


class ServerList(PageMeta):
    items: list[ServerRead]

"""Server request and response bodies."""

from __future__ import annotations

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
    Input,
    Metadata,
    Name,
    Output,
    Ref,
    Text,
    json_integer,
)

UserData = Annotated[Text, StringConstraints(max_length=65535)]


class ServerCreate(Input):
    name: Name
    flavor: Annotated[Ref, Field(examples=["m1.small"])]
    image: Annotated[Ref, Field(examples=["cirros-0.6"])]
    description: Description | None = None
    metadata: Metadata = Field(default_factory=dict)
    key_name: Name | None = None
    user_data: UserData | None = Field(None, description="Cloud-init user data (max 64 KiB).")


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


class ActionRequest(Input):
    """Body of POST /vms/{id}/actions/{action}; which fields apply depends on the action."""

    type: Literal["SOFT", "HARD"] | None = Field(None, description="reboot: SOFT or HARD.")
    flavor: Ref | None = Field(None, description="resize: the new flavor.")
    image: Ref | None = Field(None, description="rebuild: the new image (default: the same).")
    reason: Annotated[Description, StringConstraints(max_length=255)] | None = Field(
        None, description="lock: why (kept in a 255-character column)."
    )


class SnapshotCreate(Input):
    name: Name


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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def links(self) -> list[Link]:
        return [Link(rel="self", href=f"/api/v1/vms/{self.id}")]


class ServerList(PageMeta):
    items: list[ServerRead]


class ActionRead(Output):
    """One entry of the instance action log (Nova's os-instance-actions)."""

    id: str
    action: str
    request_id: str | None
    user_id: str | None
    start_time: datetime = Field(validation_alias=AliasChoices("created_at", "start_time"))
    finish_time: datetime | None = Field(
        validation_alias=AliasChoices("finished_at", "finish_time")
    )
    result: str | None = Field(description="Success, Error or Cancelled; null while running.")
    message: str | None


class ActionList(Output):
    items: list[ActionRead]

"""Volume and volume type bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    computed_field,
    model_validator,
)

from stackgate.core.pagination import PageMeta
from stackgate.core.schemas import Description, Input, Name, Output, Ref, json_integer

MAX_SIZE_GB = 16384  # 16 TiB, a common per-volume backend limit

SizeGB = Annotated[int, Field(ge=1, le=MAX_SIZE_GB), Strict(), BeforeValidator(json_integer)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1), Strict(), BeforeValidator(json_integer)]


class VolumeCreate(Input):
    size: SizeGB = Field(description="Size in GB (at least the image's min_disk).")
    name: Name | None = None
    description: Description | None = None
    image: Ref | None = Field(None, description="Make a bootable volume from this image.")
    volume_type: Ref | None = Field(
        None, description="One of GET /api/v1/volume-types (default `__DEFAULT__`)."
    )


_UPDATABLE = ("name", "description")


class VolumeUpdate(Input):
    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": [field]} for field in _UPDATABLE]}
    )

    name: Name | None = None
    description: Description | None = None
    version: Version | None = Field(
        None, description="The version you read; a newer one answers 409."
    )

    @model_validator(mode="after")
    def _something(self) -> VolumeUpdate:
        if not self.model_fields_set.intersection(_UPDATABLE):
            raise ValueError("give at least one of name, description")
        return self


class VolumeExtend(Input):
    new_size: SizeGB = Field(description="The new size in GB; larger than the current one.")


class AttachmentRead(Output):
    server_id: str
    device: str | None
    attached_at: datetime | None


class VolumeRead(Output):
    id: str
    project_id: str
    name: str
    description: str | None
    size: int
    status: str
    volume_type: str
    bootable: bool
    image_id: str | None
    attachments: list[AttachmentRead]
    error_message: str | None
    created_at: datetime
    updated_at: datetime
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
                "volume_type",
                "bootable",
                "image_id",
                "error_message",
                "created_at",
                "updated_at",
                "version",
            )
        }
        row["size"] = data.size_gb
        row["attachments"] = (
            []
            if data.server_id is None
            else [
                {
                    "server_id": data.server_id,
                    "device": data.device,
                    "attached_at": data.attached_at,
                }
            ]
        )
        return row

    @computed_field  # type: ignore[prop-decorator]
    @property
    def links(self) -> list[dict[str, str]]:
        return [{"rel": "self", "href": f"/api/v1/volumes/{self.id}"}]


class VolumeList(PageMeta):
    items: list[VolumeRead]


class VolumeTypeRead(Output):
    id: str
    name: str
    description: str
    is_default: bool


class VolumeTypeList(Output):
    items: list[VolumeTypeRead]

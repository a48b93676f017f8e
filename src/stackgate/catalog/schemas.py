"""Catalog request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from stackgate.core.pagination import PageMeta
from stackgate.core.schemas import Description, Flag, Input, Integer, Name, Output


class FlavorCreate(Input):
    name: Name
    vcpus: Integer = Field(ge=1, le=1024)
    ram_mb: Integer = Field(ge=1, le=16 * 1024 * 1024)
    disk_gb: Integer = Field(ge=0, le=1024 * 1024)
    description: Description | None = None
    is_public: Flag = True


class FlavorUpdate(FlavorCreate):
    """PUT replaces the flavor; servers keep the copy they were built with."""


class FlavorRead(Output):
    id: str
    name: str
    description: str | None
    vcpus: int
    ram_mb: int
    disk_gb: int
    is_public: bool
    created_at: datetime
    updated_at: datetime
    version: int


class FlavorList(PageMeta):
    items: list[FlavorRead]


DiskFormat = Literal["qcow2", "raw", "vmdk", "vdi", "iso", "vhd", "vhdx", "ami", "ari", "aki"]
ContainerFormat = Literal["bare", "ovf", "ova", "docker", "ami", "ari", "aki"]
Visibility = Literal["public", "private", "shared", "community"]


class ImageCreate(Input):
    name: Name
    description: Description | None = None
    min_disk_gb: Integer = Field(0, ge=0, le=1024 * 1024)
    min_ram_mb: Integer = Field(0, ge=0, le=16 * 1024 * 1024)
    disk_format: DiskFormat = "qcow2"
    container_format: ContainerFormat = "bare"
    visibility: Visibility = Field(
        "private", description="Members register private images; public ones are the cloud admin's."
    )
    os_distro: Annotated[Name, StringConstraints(max_length=64)] | None = None  # the column's size


class ImageUpdate(ImageCreate):
    """PUT replaces the image's properties."""


class ImageRead(Output):
    id: str
    name: str
    description: str | None
    status: str
    visibility: str
    disk_format: str
    container_format: str
    os_distro: str | None
    min_disk_gb: int
    min_ram_mb: int
    size_bytes: int | None
    image_type: str | None
    source_server_id: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class ImageList(PageMeta):
    items: list[ImageRead]

"""Volume attachment bodies (Nova's os-volume_attachments)."""

from __future__ import annotations

from pydantic import Field

from stackgate.core.schemas import Input, Output, Ref

VolumeId = Ref


class VolumeAttach(Input):
    volume_id: VolumeId


class VolumeAttachmentRead(Output):
    """One volume attachment of a server (Nova's os-volume_attachments)."""

    id: str = Field(description="The volume id (as Nova names an attachment).")
    volume_id: str
    server_id: str
    device: str | None
    status: str = Field(description="The volume's status: reserved, attaching, in-use, ...")
    delete_on_termination: bool


class VolumeAttachmentList(Output):
    items: list[VolumeAttachmentRead]

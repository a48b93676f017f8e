"""Bodies of server actions and of the instance action log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, StringConstraints

from stackgate.core.schemas import Description, Input, Name, Output, Ref


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

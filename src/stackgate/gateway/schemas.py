"""What the gateway's own endpoints take and answer (the routed /api/v1 space has the API's)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class BillingOrder(BaseModel):
    """An order for billing, as `POST /api/billing` takes it. Numbers may be JSON numbers or
    numeric strings; any other field is refused (422, naming it)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"user_id": "3", "number_of_items": "5", "total_amount": "180"}]
        },
    )

    user_id: str | int = Field(description="Who ordered: a non-empty string or an integer.")
    number_of_items: int | str = Field(
        description="A positive integer (or a string of digits), at most 2147483647.",
        examples=[5, "5"],
    )
    total_amount: float | str = Field(
        description="A non-negative decimal with at most two decimal places (a number or a "
        "numeric string), at most 9999999999.99.",
        examples=["180", 19.99],
    )


class MessagePosted(BaseModel):
    """The broker confirmed the message: it is stored in billing_queue."""

    message: str = Field("Message posted", examples=["Message posted"])


class ReadyCheck(BaseModel):
    name: str
    status: str = Field(description="up or down")
    error: str | None = None


class Readiness(BaseModel):
    status: str = Field(description="ready or unavailable")
    checks: list[ReadyCheck]


def order_schema() -> dict[str, Any]:
    """The request body schema of POST /api/billing, for the OpenAPI document."""
    return BillingOrder.model_json_schema()

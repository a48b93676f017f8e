"""What the billing HTTP API answers. Money and quantities are decimal strings (exact)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from stackgate.core.schemas import Output


class OrderRead(Output):
    id: int
    user_id: str
    number_of_items: int
    total_amount: Decimal = Field(description="Decimal string, 2 places.")
    message_id: str
    received_at: datetime


class OrderList(Output):
    orders: list[OrderRead]
    total: int = Field(description="Orders matching the filter.")
    page: int
    per_page: int


class HourChargeRead(Output):
    hour: datetime = Field(description="Start of the UTC clock hour.")
    seconds: Decimal = Field(description="Seconds of this hour the resource ran at this unit.")
    unit: str = Field(description='What was rated: "flavor m1.small", "10 GB", "floating IP".')
    unit_price: Decimal = Field(description="Price of one hour of the unit.")
    amount: Decimal = Field(description="unit_price x seconds / 3600, 6 decimal places.")


class ResourceUsageRead(Output):
    resource_type: str = Field(description="server, volume or floating_ip.")
    resource_id: str
    seconds: Decimal = Field(description="Seconds charged within the window.")
    amount: Decimal
    hours: list[HourChargeRead]


class UsageRead(Output):
    project_id: str
    start: datetime
    end: datetime
    currency: str
    resources: list[ResourceUsageRead]
    total: Decimal = Field(description="Sum of every resource's charges, 6 decimal places.")

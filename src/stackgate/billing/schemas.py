"""What the billing HTTP API answers. Money and quantities are decimal strings (exact)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from stackgate.core.pagination import PageMeta
from stackgate.core.schemas import Output


class OrderRead(Output):
    id: int
    user_id: str
    number_of_items: int
    total_amount: Decimal = Field(description="Decimal string, 2 places.")
    message_id: str
    received_at: datetime


class OrderList(PageMeta):
    """The shape of every list: `items` and the paging fields (page mode only)."""

    items: list[OrderRead]


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


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_WINDOW_SCHEMA = WithJsonSchema(
    {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}
)


def _bound(*, end: bool) -> Any:
    """A usage window bound: an RFC 3339 date-time, or a plain date standing for that day in
    UTC: its 00:00Z as a start, and as an end the whole day (the next day's 00:00Z), so
    `start=2026-12-01&end=2026-12-31` is all of December."""

    def parse(value: object) -> datetime:
        if not isinstance(value, str | datetime):
            raise ValueError("must be a date (2026-12-06) or an RFC 3339 date-time")
        try:
            if isinstance(value, datetime):
                moment = value
            elif _DATE.fullmatch(value):
                day = date.fromisoformat(value)
                moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
                if end:
                    moment += timedelta(days=1)
            elif _RFC3339.fullmatch(value):
                moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
            else:
                raise ValueError(value)
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        except (ValueError, OverflowError):
            raise ValueError(
                "must be a date (2026-12-06) or an RFC 3339 date-time (2026-12-06T10:00:00Z) "
                "between the years 1 and 9999"
            ) from None

    return BeforeValidator(parse)


# Both are UTC datetimes once parsed (the route never sees a date).
WindowStart = Annotated[datetime, _bound(end=False), _WINDOW_SCHEMA]
WindowEnd = Annotated[datetime, _bound(end=True), _WINDOW_SCHEMA]

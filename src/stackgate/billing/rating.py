"""Usage periods + price list -> charges per resource and per hour (pure code).

Charges are exact to the second (to the microsecond, in fact): a resource that ran 90 s in an
hour is charged 90/3600 of its hourly price. Hours are UTC clock hours. Amounts are computed in
exact decimals and rounded to 6 places only for display; totals are the rounded exact sums.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from stackgate.billing.prices import PriceList
from stackgate.billing.usage import FLOATING_IP, SERVER, VOLUME, Period, Size

HOUR = timedelta(hours=1)
SECONDS_PER_HOUR = Decimal(3600)
DISPLAY = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class HourCharge:
    hour: datetime  # start of the UTC clock hour
    seconds: Decimal
    unit: str  # what was rated, e.g. "flavor m1.small", "10 GB", "floating IP"
    unit_price: Decimal  # per hour
    amount: Decimal  # exact


@dataclass(slots=True)
class ResourceCharges:
    resource_type: str
    resource_id: str
    seconds: Decimal = Decimal(0)
    amount: Decimal = Decimal(0)
    hours: list[HourCharge] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UsageReport:
    start: datetime
    end: datetime
    currency: str
    resources: list[ResourceCharges]
    total: Decimal


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def seconds_between(start: datetime, end: datetime) -> Decimal:
    """Exact seconds (microsecond resolution) as a decimal."""
    return Decimal((end - start) // timedelta(microseconds=1)) / Decimal(1_000_000)


def hourly_price(resource_type: str, size: Size, prices: PriceList) -> tuple[str, Decimal]:
    """What one hour of this resource at this size costs, and a label for the unit."""
    if resource_type == SERVER:
        if size.flavor_name is not None and size.flavor_name in prices.flavor_hour:
            return f"flavor {size.flavor_name}", prices.flavor_hour[size.flavor_name]
        label = f"{size.vcpus or 0} vCPU" + (f" ({size.flavor_name})" if size.flavor_name else "")
        return label, prices.server_hour(size.flavor_name, size.vcpus)
    if resource_type == VOLUME:
        return f"{size.size_gb or 0} GB", prices.volume_hour(size.size_gb)
    if resource_type == FLOATING_IP:
        return "floating IP", prices.floating_ip_hour
    return resource_type, Decimal(0)


def _hour_charges(
    period: Period, prices: PriceList, start: datetime, end: datetime
) -> list[HourCharge]:
    begin = max(period.started_at, start)
    finish = min(period.ended_at or end, end)
    if finish <= begin:
        return []
    unit, price = hourly_price(period.resource_type, period.size, prices)
    charges = []
    hour = floor_hour(begin)
    while hour < finish:
        lo, hi = max(begin, hour), min(finish, hour + HOUR)
        if hi > lo:
            seconds = seconds_between(lo, hi)
            charges.append(
                HourCharge(hour, seconds, unit, price, price * seconds / SECONDS_PER_HOUR)
            )
        hour += HOUR
    return charges


def rate(
    periods: Iterable[Period],
    prices: PriceList,
    *,
    start: datetime,
    end: datetime,
    hourly: bool = True,
) -> UsageReport:
    """The charges of `periods` within [start, end): per resource, per hour, and the total."""
    by_resource: dict[tuple[str, str], ResourceCharges] = {}
    for period in periods:
        charges = _hour_charges(period, prices, start, end)
        if not charges:
            continue
        key = (period.resource_type, period.resource_id)
        resource = by_resource.setdefault(key, ResourceCharges(*key))
        for charge in charges:
            resource.seconds += charge.seconds
            resource.amount += charge.amount
        if hourly:
            resource.hours.extend(charges)
    resources = sorted(by_resource.values(), key=lambda r: (r.resource_type, r.resource_id))
    for resource in resources:
        resource.hours.sort(key=lambda c: (c.hour, c.unit))
    total = sum((r.amount for r in resources), Decimal(0))
    return UsageReport(start, end, prices.currency, resources, total)


def display(amount: Decimal) -> Decimal:
    """An amount rounded for display (6 decimal places)."""
    return amount.quantize(DISPLAY)

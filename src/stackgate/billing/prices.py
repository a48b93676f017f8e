"""The price list: built-in defaults, overridden by a JSON or TOML file (STACKGATE_BILLING_PRICES).

File format (JSON with the same keys works too); every key is optional and a file's flavors are
merged over the defaults:

    currency = "USD"
    vcpu_hour = "0.02"          # a flavor missing from [flavor_hour]: vCPUs x this, per hour
    volume_gb_hour = "0.00014"  # per GB of volume, per hour
    floating_ip_hour = "0.005"  # per floating IP, per hour

    [flavor_hour]
    "m1.small" = "0.023"

Prices are decimals (write them as strings to keep them exact).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

DEFAULT_FLAVOR_HOUR = {
    "m1.tiny": Decimal("0.0058"),
    "m1.small": Decimal("0.023"),
    "m1.medium": Decimal("0.046"),
    "m1.large": Decimal("0.092"),
    "m1.xlarge": Decimal("0.184"),
}


class InvalidPriceList(ValueError):
    """The price file cannot be read or holds a value that is not a non-negative decimal."""


@dataclass(frozen=True, slots=True)
class PriceList:
    currency: str = "USD"
    flavor_hour: dict[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_FLAVOR_HOUR))
    vcpu_hour: Decimal = Decimal("0.02")
    volume_gb_hour: Decimal = Decimal("0.00014")
    floating_ip_hour: Decimal = Decimal("0.005")

    def server_hour(self, flavor_name: str | None, vcpus: int | None) -> Decimal:
        """The hourly price of a server: its flavor's, else its vCPUs at the vCPU-hour price."""
        if flavor_name is not None and flavor_name in self.flavor_hour:
            return self.flavor_hour[flavor_name]
        return self.vcpu_hour * (vcpus or 0)

    def volume_hour(self, size_gb: int | None) -> Decimal:
        return self.volume_gb_hour * (size_gb or 0)


def _price(name: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidPriceList(f"{name}: a price must be a decimal number")
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise InvalidPriceList(f"{name}: {value!r} is not a decimal number") from None
    if not price.is_finite() or price < 0:
        raise InvalidPriceList(f"{name}: a price must be finite and non-negative")
    return price


def price_list_from_dict(data: dict[str, Any], base: PriceList | None = None) -> PriceList:
    """`data` (a parsed price file) over `base` (the defaults)."""
    prices = base or PriceList()
    known = {"currency", "flavor_hour", "vcpu_hour", "volume_gb_hour", "floating_ip_hour"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidPriceList(f"unknown keys {unknown}; known: {sorted(known)}")
    flavors = data.get("flavor_hour", {})
    if not isinstance(flavors, dict):
        raise InvalidPriceList("flavor_hour must map flavor names to prices")
    merged = dict(prices.flavor_hour)
    merged.update({str(k): _price(f"flavor_hour.{k}", v) for k, v in flavors.items()})
    currency = data.get("currency", prices.currency)
    if not isinstance(currency, str) or not currency:
        raise InvalidPriceList("currency must be a non-empty string")
    changes: dict[str, Any] = {
        key: _price(key, data[key])
        for key in ("vcpu_hour", "volume_gb_hour", "floating_ip_hour")
        if key in data
    }
    return replace(prices, currency=currency, flavor_hour=merged, **changes)


def load_price_list(path: str | Path | None) -> PriceList:
    """The defaults, overridden by the file at `path` (.toml, else JSON) when given."""
    if path is None or str(path) == "":
        return PriceList()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
        data = tomllib.loads(text) if file.suffix.lower() == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise InvalidPriceList(f"cannot read the price list {file}: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidPriceList(f"{file}: the price list must be an object/table")
    return price_list_from_dict(data)

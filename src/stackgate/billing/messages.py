"""Parsing and validation of what billing receives: order messages and event envelopes.

Pure code (no I/O). The rules are the issue's: an order is a JSON object with `user_id`
present, `number_of_items` a positive integer and `total_amount` a non-negative decimal, numbers
or numeric strings accepted. A message that breaks them is *poison*: the consumer dead-letters
it with the reason instead of retrying it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_BODY_BYTES = 64 * 1024
MAX_USER_ID = 255
MAX_ITEMS = 2_147_483_647  # a 32-bit INTEGER column
MAX_AMOUNT = Decimal("9999999999.99")  # NUMERIC(12, 2)
_INTEGER = re.compile(r"[+]?[0-9]{1,10}")
_DECIMAL = re.compile(r"[+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


class InvalidMessage(ValueError):
    """A message that can never be processed: its `reason` goes with it to the DLQ."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class OrderMessage:
    message_id: str
    user_id: str
    number_of_items: int
    total_amount: Decimal


def _load_object(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY_BYTES:
        raise InvalidMessage(f"body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        value: Any = json.loads(body)
        # A publisher that JSON-encoded the JSON text once more sent a string: unwrap it once.
        if isinstance(value, str):
            value = json.loads(value)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidMessage(f"body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidMessage(f"body must be a JSON object, not {type(value).__name__}")
    return value


def _user_id(value: Any) -> str:
    if value is None:
        raise InvalidMessage("user_id is required")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidMessage("user_id must be a string or an integer")
    text = str(value).strip()
    if not text:
        raise InvalidMessage("user_id must not be blank")
    if len(text) > MAX_USER_ID or "\x00" in text:
        raise InvalidMessage(f"user_id must be at most {MAX_USER_ID} characters, without NUL")
    return text


def _items(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidMessage("number_of_items must be a positive integer")
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        number = int(value.strip())
    if number is None or not 1 <= number <= MAX_ITEMS:
        raise InvalidMessage(f"number_of_items must be a positive integer up to {MAX_ITEMS}")
    return number


def _amount(value: Any) -> Decimal:
    problem = "total_amount must be a non-negative decimal with at most 2 decimal places"
    if isinstance(value, bool):
        raise InvalidMessage(problem)
    if isinstance(value, int | float):
        text = str(value)  # str(19.99) is "19.99": the decimal the sender wrote
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        text = value.strip()
    else:
        raise InvalidMessage(problem)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidMessage(problem) from None
    if not amount.is_finite() or amount < 0:
        raise InvalidMessage(problem)
    if amount > MAX_AMOUNT:
        raise InvalidMessage(f"total_amount must be at most {MAX_AMOUNT}")
    cents = amount.quantize(Decimal("0.01"))
    if cents != amount:
        # More than two decimals: rounding money silently is worse than refusing it.
        raise InvalidMessage(problem)
    amount = cents
    return amount


ORDER_FIELDS = ("user_id", "number_of_items", "total_amount")
_CHECKS = {"user_id": _user_id, "number_of_items": _items, "total_amount": _amount}


def order_problems(data: dict[str, Any], *, allow_unknown: bool) -> list[tuple[str, str, str]]:
    """Every rule an order object breaks, as (field, reason, kind) with kind "missing",
    "invalid" or "unknown", so a caller hears all of them at once. The gateway refuses unknown
    fields (a misspelt `total_ammount` must not pass as an extra); billing's consumer keeps
    them, as other publishers may add their own."""
    problems = []
    for name in ORDER_FIELDS:
        if data.get(name) is None:
            problems.append((name, f"{name} is required", "missing"))
            continue
        try:
            _CHECKS[name](data[name])
        except InvalidMessage as exc:
            problems.append((name, exc.reason, "invalid"))
    if not allow_unknown:
        for name in data:
            if name not in ORDER_FIELDS:
                problems.append(
                    (
                        str(name),
                        f"unknown field {str(name)[:64]!r}: an order has only "
                        + ", ".join(ORDER_FIELDS),
                        "unknown",
                    )
                )
    return problems


def fallback_message_id(body: bytes, timestamp: datetime | None) -> str:
    """An id for a message its publisher sent without one: stable across redeliveries (same
    body, same AMQP timestamp). Two identical bodies published in the same second without ids
    cannot be told apart; the gateway always sets an id."""
    digest = hashlib.sha256(body)
    if timestamp is not None:
        digest.update(timestamp.isoformat().encode())
    return "sha256:" + digest.hexdigest()[:48]


def parse_order(body: bytes, *, message_id: str) -> OrderMessage:
    """The order in one billing_queue message, or InvalidMessage saying why not."""
    data = _load_object(body)
    if not message_id or len(message_id) > 255:
        raise InvalidMessage("message_id must be 1-255 characters")
    return OrderMessage(
        message_id=message_id,
        user_id=_user_id(data.get("user_id")),
        number_of_items=_items(data.get("number_of_items")),
        total_amount=_amount(data.get("total_amount")),
    )


@dataclass(frozen=True, slots=True)
class Event:
    """One event envelope (issue 5 design: the JSON body on stackgate.events)."""

    event_id: str
    event_type: str
    occurred_at: datetime
    project_id: str | None
    user_id: str | None
    resource_type: str | None
    resource_id: str | None
    payload: dict[str, Any] = field(default_factory=dict)


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):  # handed over in-process, before serialisation
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str):
        raise InvalidMessage("occurred_at must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidMessage(f"occurred_at is not ISO 8601: {value[:64]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _optional_text(data: dict[str, Any], name: str, limit: int = 255) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise InvalidMessage(f"{name} must be a string of at most {limit} characters")
    return value


def event_from_dict(data: dict[str, Any]) -> Event:
    """An envelope as a dict (the in-process relay hands these over) -> Event."""
    event_id = _optional_text(data, "event_id", 64)
    event_type = _optional_text(data, "event_type", 128)
    if not event_id:
        raise InvalidMessage("event_id is required")
    if not event_type:
        raise InvalidMessage("event_type is required")
    payload = data.get("payload")
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise InvalidMessage("payload must be a JSON object")
    return Event(
        event_id=event_id,
        event_type=event_type,
        occurred_at=_timestamp(data.get("occurred_at")),
        project_id=_optional_text(data, "project_id"),
        user_id=_optional_text(data, "user_id"),
        resource_type=_optional_text(data, "resource_type", 64),
        resource_id=_optional_text(data, "resource_id"),
        payload=payload,
    )


def parse_event(body: bytes) -> Event:
    """The event in one message of billing_usage, or InvalidMessage saying why not."""
    return event_from_dict(_load_object(body))

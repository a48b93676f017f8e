"""Order and event parsing: what is accepted, and what is poison (with its reason)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from stackgate.billing.messages import (
    MAX_BODY_BYTES,
    InvalidMessage,
    event_from_dict,
    fallback_message_id,
    parse_event,
    parse_order,
)


def order(**body: object) -> bytes:
    return json.dumps(body).encode()


class TestParseOrder:
    def test_the_seed_example_with_numeric_strings(self) -> None:
        parsed = parse_order(
            order(user_id="3", number_of_items="5", total_amount="180"), message_id="m1"
        )
        assert (parsed.user_id, parsed.number_of_items, parsed.total_amount) == (
            "3",
            5,
            Decimal("180.00"),
        )
        assert parsed.message_id == "m1"

    @pytest.mark.parametrize(
        "items,amount,expected_items,expected_amount",
        [
            (5, 180, 5, "180.00"),
            (1, 0, 1, "0.00"),
            (" 7 ", " 19.99 ", 7, "19.99"),
            (2.0, 19.99, 2, "19.99"),
            ("+3", ".5", 3, "0.50"),
            (2_147_483_647, "9999999999.99", 2_147_483_647, "9999999999.99"),
        ],
    )
    def test_numbers_and_numeric_strings(
        self, items: object, amount: object, expected_items: int, expected_amount: str
    ) -> None:
        parsed = parse_order(
            order(user_id=3, number_of_items=items, total_amount=amount), message_id="m"
        )
        assert parsed.number_of_items == expected_items
        assert parsed.total_amount == Decimal(expected_amount)
        assert parsed.user_id == "3"

    @pytest.mark.parametrize(
        "body,reason",
        [
            (b"not json", "not JSON"),
            (b"[1, 2]", "JSON object"),
            (b'"just a string"', "not JSON"),
            (b"\xff\xfe", "not JSON"),
            (order(number_of_items=1, total_amount=1), "user_id is required"),
            (order(user_id="  ", number_of_items=1, total_amount=1), "blank"),
            (order(user_id=True, number_of_items=1, total_amount=1), "user_id"),
            (order(user_id="x" * 256, number_of_items=1, total_amount=1), "user_id"),
            (order(user_id="3", total_amount=1), "number_of_items"),
            (order(user_id="3", number_of_items=0, total_amount=1), "number_of_items"),
            (order(user_id="3", number_of_items=-2, total_amount=1), "number_of_items"),
            (order(user_id="3", number_of_items=2.5, total_amount=1), "number_of_items"),
            (order(user_id="3", number_of_items="five", total_amount=1), "number_of_items"),
            (order(user_id="3", number_of_items=True, total_amount=1), "number_of_items"),
            (order(user_id="3", number_of_items=2**31, total_amount=1), "number_of_items"),
            (order(user_id="3", number_of_items=1), "total_amount"),
            (order(user_id="3", number_of_items=1, total_amount=-1), "total_amount"),
            (order(user_id="3", number_of_items=1, total_amount="-0.01"), "total_amount"),
            (order(user_id="3", number_of_items=1, total_amount="1.005"), "total_amount"),
            (order(user_id="3", number_of_items=1, total_amount="NaN"), "total_amount"),
            (order(user_id="3", number_of_items=1, total_amount="1e3"), "total_amount"),
            (order(user_id="3", number_of_items=1, total_amount=1e20), "at most"),
            (order(user_id="3", number_of_items=1, total_amount=False), "total_amount"),
        ],
    )
    def test_poison(self, body: bytes, reason: str) -> None:
        with pytest.raises(InvalidMessage) as raised:
            parse_order(body, message_id="m")
        assert reason in raised.value.reason

    def test_a_double_encoded_body_is_unwrapped_once(self) -> None:
        body = json.dumps(json.dumps({"user_id": "1", "number_of_items": 1, "total_amount": 2}))
        assert parse_order(body.encode(), message_id="m").total_amount == Decimal("2.00")

    def test_size_cap(self) -> None:
        body = order(user_id="1", number_of_items=1, total_amount=1, pad="x" * MAX_BODY_BYTES)
        with pytest.raises(InvalidMessage, match="limit"):
            parse_order(body, message_id="m")

    def test_extra_fields_are_ignored(self) -> None:
        body = order(user_id="1", number_of_items=1, total_amount=1, note="hi")
        assert parse_order(body, message_id="m").user_id == "1"

    def test_fallback_id_is_stable_per_body_and_timestamp(self) -> None:
        at = datetime(2026, 1, 1, tzinfo=UTC)
        assert fallback_message_id(b"a", at) == fallback_message_id(b"a", at)
        assert fallback_message_id(b"a", at) != fallback_message_id(b"b", at)
        assert fallback_message_id(b"a", None) != fallback_message_id(b"a", at)


class TestParseEvent:
    def test_envelope(self) -> None:
        event = parse_event(
            json.dumps(
                {
                    "event_id": "e1",
                    "event_type": "volume.create.end",
                    "occurred_at": "2026-11-22T10:00:00.5Z",
                    "project_id": "p",
                    "resource_type": "volume",
                    "resource_id": "v",
                    "payload": {"size_gb": 10},
                }
            ).encode()
        )
        assert event.occurred_at == datetime(2026, 11, 22, 10, 0, 0, 500000, tzinfo=UTC)
        assert event.payload == {"size_gb": 10}

    def test_in_process_dicts_may_carry_datetimes(self) -> None:
        at = datetime(2026, 1, 1, 12, tzinfo=UTC)
        event = event_from_dict({"event_id": "e", "event_type": "x.y", "occurred_at": at})
        assert event.occurred_at == at

    @pytest.mark.parametrize(
        "data,reason",
        [
            ({"event_type": "x", "occurred_at": "2026-01-01T00:00:00Z"}, "event_id"),
            ({"event_id": "e", "occurred_at": "2026-01-01T00:00:00Z"}, "event_type"),
            ({"event_id": "e", "event_type": "x"}, "occurred_at"),
            ({"event_id": "e", "event_type": "x", "occurred_at": "yesterday"}, "ISO 8601"),
            (
                {
                    "event_id": "e",
                    "event_type": "x",
                    "occurred_at": "2026-01-01T00:00:00Z",
                    "payload": [],
                },
                "payload",
            ),
        ],
    )
    def test_poison(self, data: dict[str, object], reason: str) -> None:
        with pytest.raises(InvalidMessage) as raised:
            event_from_dict(data)
        assert reason in raised.value.reason

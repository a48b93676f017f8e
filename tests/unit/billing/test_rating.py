"""Rating: events -> periods -> charges, exact to the second, per UTC hour."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from stackgate.billing.messages import Event
from stackgate.billing.prices import InvalidPriceList, PriceList, load_price_list
from stackgate.billing.rating import display, rate
from stackgate.billing.usage import Period, Size, derive_periods

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
PRICES = PriceList(
    flavor_hour={"m1.small": Decimal("0.036"), "m1.large": Decimal("0.144")},
    vcpu_hour=Decimal("0.01"),
    volume_gb_hour=Decimal("0.0001"),
    floating_ip_hour=Decimal("0.0036"),
)


def ev(kind: str, at: datetime, resource: str = "r1", n: int = 0, **payload: object) -> Event:
    return Event(
        event_id=f"{kind}-{at.isoformat()}-{n}",
        event_type=kind,
        occurred_at=at,
        project_id="p1",
        user_id="u1",
        resource_type=None,
        resource_id=resource,
        payload=dict(payload),
    )


def server(flavor: str, start: datetime, end: datetime | None, vcpus: int = 1) -> Period:
    return Period("server", "s1", "p1", start, end, Size(flavor_name=flavor, vcpus=vcpus))


class TestToTheSecond:
    def test_ninety_seconds_cost_ninety_3600ths_of_an_hour(self) -> None:
        report = rate(
            [server("m1.small", T0, T0 + timedelta(seconds=90))],
            PRICES,
            start=T0,
            end=T0 + timedelta(hours=2),
        )
        (resource,) = report.resources
        assert resource.seconds == 90
        assert resource.amount == Decimal("0.036") * 90 / 3600 == Decimal("0.0009")
        assert report.total == Decimal("0.0009")

    def test_a_running_resource_is_charged_up_to_the_window_end(self) -> None:
        report = rate(
            [server("m1.small", T0, None)], PRICES, start=T0, end=T0 + timedelta(seconds=1)
        )
        assert report.total == Decimal("0.00001")

    def test_window_clips_the_period(self) -> None:
        period = server("m1.small", T0 - timedelta(hours=5), T0 + timedelta(hours=5))
        report = rate([period], PRICES, start=T0, end=T0 + timedelta(minutes=30))
        assert report.resources[0].seconds == 1800
        assert report.total == Decimal("0.018")


class TestHourBuckets:
    def test_a_period_across_hours_is_split_at_clock_hours(self) -> None:
        start = T0 + timedelta(minutes=45)
        end = T0 + timedelta(hours=2, minutes=15)
        report = rate(
            [server("m1.small", start, end)], PRICES, start=T0, end=T0 + timedelta(hours=3)
        )
        hours = report.resources[0].hours
        assert [(h.hour.hour, int(h.seconds)) for h in hours] == [(10, 900), (11, 3600), (12, 900)]
        assert sum(h.amount for h in hours) == report.total == Decimal("0.036") * Decimal("1.5")

    def test_hourly_detail_can_be_left_out(self) -> None:
        report = rate(
            [server("m1.small", T0, T0 + timedelta(hours=3))],
            PRICES,
            start=T0,
            end=T0 + timedelta(hours=3),
            hourly=False,
        )
        assert report.resources[0].hours == []
        assert report.total == Decimal("0.108")


class TestResize:
    def test_resize_changes_the_rate_within_the_hour(self) -> None:
        events = [
            ev("compute.instance.create.end", T0, flavor_name="m1.small", vcpus=1),
            ev(
                "compute.instance.resize.end",
                T0 + timedelta(minutes=20),
                flavor_name="m1.large",
                vcpus=4,
            ),
            ev("compute.instance.delete.end", T0 + timedelta(minutes=50)),
        ]
        periods = derive_periods(events)
        assert [(p.size.flavor_name, p.started_at, p.ended_at) for p in periods] == [
            ("m1.small", T0, T0 + timedelta(minutes=20)),
            ("m1.large", T0 + timedelta(minutes=20), T0 + timedelta(minutes=50)),
        ]
        report = rate(periods, PRICES, start=T0, end=T0 + timedelta(hours=1))
        units = [(h.unit, h.seconds, h.amount) for h in report.resources[0].hours]
        assert units == [
            ("flavor m1.large", Decimal(1800), Decimal("0.072")),
            ("flavor m1.small", Decimal(1200), Decimal("0.012")),
        ]
        assert report.total == Decimal("0.084")

    def test_unknown_flavor_falls_back_to_vcpus(self) -> None:
        period = server("custom.big", T0, T0 + timedelta(hours=1), vcpus=8)
        report = rate([period], PRICES, start=T0, end=T0 + timedelta(hours=1))
        assert report.resources[0].hours[0].unit == "8 vCPU (custom.big)"
        assert report.total == Decimal("0.08")

    def test_volume_extend_and_floating_ip(self) -> None:
        events = [
            ev("volume.create.end", T0, "v1", size_gb=10),
            ev("volume.resize.end", T0 + timedelta(hours=1), "v1", size_gb=30),
            ev("volume.delete.end", T0 + timedelta(hours=2), "v1"),
        ]
        fip = [
            ev("floatingip.create.end", T0, "f1", floating_ip_address="203.0.113.5"),
            ev("floatingip.delete.end", T0 + timedelta(seconds=100), "f1"),
        ]
        periods = derive_periods(events) + derive_periods(fip)
        report = rate(periods, PRICES, start=T0, end=T0 + timedelta(hours=3))
        by_id = {r.resource_id: r for r in report.resources}
        assert by_id["v1"].amount == Decimal("0.001") + Decimal("0.003")
        assert by_id["f1"].amount == Decimal("0.0001")
        assert report.total == Decimal("0.0041")


class TestDerivePeriods:
    def test_out_of_order_and_duplicate_events(self) -> None:
        create = ev("compute.instance.create.end", T0, flavor_name="m1.small", vcpus=1)
        delete = ev("compute.instance.delete.end", T0 + timedelta(hours=1))
        periods = derive_periods([delete, create, create])
        assert [(p.started_at, p.ended_at) for p in periods] == [(T0, T0 + timedelta(hours=1))]

    def test_nothing_after_delete(self) -> None:
        events = [
            ev("compute.instance.create.end", T0, flavor_name="m1.small"),
            ev("compute.instance.delete.end", T0 + timedelta(hours=1)),
            ev("compute.instance.resize.end", T0 + timedelta(hours=2), flavor_name="m1.large"),
        ]
        assert len(derive_periods(events)) == 1

    def test_unrated_events_are_ignored(self) -> None:
        events = [
            ev("compute.instance.update", T0, status="ACTIVE"),
            ev("compute.instance.create.end", T0, flavor_name="m1.small"),
        ]
        (period,) = derive_periods(events)
        assert period.ended_at is None

    def test_a_resize_without_a_create_starts_billing(self) -> None:
        (period,) = derive_periods([ev("volume.resize.end", T0, size_gb=5)])
        assert period.size.size_gb == 5


class TestPriceFile:
    def test_defaults(self) -> None:
        prices = load_price_list(None)
        assert prices.flavor_hour["m1.small"] > 0
        assert prices.currency == "USD"

    def test_toml_overrides_merge_over_defaults(self, tmp_path: Path) -> None:
        file = tmp_path / "prices.toml"
        file.write_text(
            'currency = "EUR"\nvolume_gb_hour = "0.5"\n[flavor_hour]\n"m1.small" = "1.25"\n'
        )
        prices = load_price_list(file)
        assert prices.currency == "EUR"
        assert prices.flavor_hour["m1.small"] == Decimal("1.25")
        assert prices.flavor_hour["m1.large"] == PriceList().flavor_hour["m1.large"]
        assert prices.volume_gb_hour == Decimal("0.5")
        assert prices.vcpu_hour == PriceList().vcpu_hour

    def test_json_file_changes_the_charge(self, tmp_path: Path) -> None:
        file = tmp_path / "prices.json"
        file.write_text(json.dumps({"flavor_hour": {"m1.small": "3600"}}))
        report = rate(
            [server("m1.small", T0, T0 + timedelta(seconds=90))],
            load_price_list(file),
            start=T0,
            end=T0 + timedelta(hours=1),
        )
        assert display(report.total) == Decimal("90.000000")

    @pytest.mark.parametrize(
        "content", ['{"vcpu_hour": "-1"}', '{"surprise": 1}', '{"flavor_hour": []}', "not json"]
    )
    def test_bad_files_are_refused(self, tmp_path: Path, content: str) -> None:
        file = tmp_path / "prices.json"
        file.write_text(content)
        with pytest.raises(InvalidPriceList):
            load_price_list(file)

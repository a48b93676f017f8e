"""IPAM rules (pure): Neutron's subnet defaults and checks, and free-address picking."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stackgate.semantics import ipam
from stackgate.semantics.ipam import InvalidAddress, InvalidSubnet


class TestPlanSubnet:
    def test_defaults(self) -> None:
        plan = ipam.plan_subnet("10.0.0.0/24")
        assert plan == ipam.SubnetPlan("10.0.0.0/24", 4, "10.0.0.1", "10.0.0.2", "10.0.0.254")

    def test_slash_26_has_61_addresses(self) -> None:
        plan = ipam.plan_subnet("10.50.0.0/26")
        assert ipam.pool_size(plan.pool_start, plan.pool_end) == 61

    @pytest.mark.parametrize(
        ("cidr", "start", "end"),
        [("10.0.0.0/31", "10.0.0.0", "10.0.0.1"), ("10.0.0.7/32", "10.0.0.7", "10.0.0.7")],
    )
    def test_slash_31_and_32_use_every_address(self, cidr: str, start: str, end: str) -> None:
        plan = ipam.plan_subnet(cidr)
        assert (plan.gateway_ip, plan.pool_start, plan.pool_end) == (None, start, end)

    def test_gateway_at_the_end_or_none(self) -> None:
        assert ipam.plan_subnet("10.0.0.0/24", gateway_ip="10.0.0.254").pool_end == "10.0.0.253"
        plan = ipam.plan_subnet("10.0.0.0/24", no_gateway=True)
        assert (plan.gateway_ip, plan.pool_start) == (None, "10.0.0.1")

    def test_gateway_in_the_middle_keeps_the_larger_side(self) -> None:
        plan = ipam.plan_subnet("10.0.0.0/24", gateway_ip="10.0.0.10")
        assert (plan.pool_start, plan.pool_end) == ("10.0.0.11", "10.0.0.254")

    def test_ipv6(self) -> None:
        plan = ipam.plan_subnet("fd00::/64")
        assert (plan.ip_version, plan.gateway_ip, plan.pool_start) == (6, "fd00::1", "fd00::2")
        assert plan.pool_end == "fd00::ffff:ffff:ffff:ffff"

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"cidr": "nope"}, "cidr"),
            ({"cidr": "10.0.0.0"}, "cidr"),
            ({"cidr": "10.0.0.1/24"}, "cidr"),
            ({"cidr": "0.0.0.0/0"}, "cidr"),
            ({"cidr": "10.0.0.0/24", "gateway_ip": "10.0.1.1"}, "gateway_ip"),
            ({"cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.0"}, "gateway_ip"),
            ({"cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.255"}, "gateway_ip"),
            ({"cidr": "10.0.0.0/24", "gateway_ip": "x"}, "gateway_ip"),
            ({"cidr": "10.0.0.0/24", "pool": ("10.0.0.9", "10.0.0.5")}, "allocation_pool"),
            ({"cidr": "10.0.0.0/24", "pool": ("10.0.0.0", "10.0.0.5")}, "allocation_pool.start"),
            ({"cidr": "10.0.0.0/24", "pool": ("10.0.0.5", "10.0.0.255")}, "allocation_pool.end"),
            ({"cidr": "10.0.0.0/24", "pool": ("10.0.0.1", "10.0.0.5")}, "allocation_pool"),
        ],
    )
    def test_refusals_name_the_field(self, kwargs: dict[str, object], field: str) -> None:
        cidr = str(kwargs.pop("cidr"))
        with pytest.raises(InvalidSubnet) as info:
            ipam.plan_subnet(cidr, **kwargs)  # type: ignore[arg-type]
        assert info.value.extra["field"] == field


class TestRequested:
    def test_host_addresses_only(self) -> None:
        assert ipam.check_requested("10.0.0.9", cidr="10.0.0.0/24", gateway_ip="10.0.0.1") == (
            "10.0.0.9"
        )
        for bad in ("10.0.1.9", "10.0.0.0", "10.0.0.255", "10.0.0.1", "zz", "fd00::1"):
            with pytest.raises(InvalidAddress):
                ipam.check_requested(bad, cidr="10.0.0.0/24", gateway_ip="10.0.0.1")


class TestPickFree:
    def test_never_the_gateway_nor_a_used_one(self) -> None:
        used = {f"10.0.0.{i}" for i in range(2, 62)}
        got = ipam.pick_free("10.0.0.1", "10.0.0.62", used, gateway_ip="10.0.0.1")
        assert got == "10.0.0.62"
        assert ipam.pick_free("10.0.0.2", "10.0.0.62", used | {"10.0.0.62"}) is None

    def test_random_within_the_window(self) -> None:
        rng = random.Random(1)
        picks = {ipam.pick_free("10.0.0.2", "10.0.0.254", (), rng=rng) for _ in range(50)}
        assert len(picks) > 10

    @given(st.sets(st.integers(min_value=2, max_value=62)))
    def test_picks_are_free_and_inside_the_pool(self, used_hosts: set[int]) -> None:
        used = {f"10.0.0.{i}" for i in used_hosts}
        got = ipam.pick_free("10.0.0.2", "10.0.0.62", used, gateway_ip="10.0.0.1")
        if len(used_hosts) == 61:
            assert got is None
        else:
            assert got is not None and got not in used
            assert 2 <= int(got.rsplit(".", 1)[1]) <= 62

    def test_overlaps(self) -> None:
        assert ipam.overlaps("10.0.0.0/16", "10.0.5.0/24")
        assert not ipam.overlaps("10.0.0.0/24", "10.0.1.0/24")
        assert not ipam.overlaps("10.0.0.0/24", "fd00::/64")

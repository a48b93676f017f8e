"""Security groups in the simulator: the default group, template rules, Neutron's refusals."""

from __future__ import annotations

import pytest
from sim_builders import private_network

from stackgate.providers.base import ProviderBadRequest, ProviderConflict, ProviderNotFound
from stackgate.providers.network import PortSpec, ProviderRule, RuleSpec, SecurityGroupSpec
from stackgate.providers.simulator import SimulatorProvider


def shape(rule: ProviderRule, group_id: str) -> tuple[str, str, str | None]:
    remote = "self" if rule.remote_group_id == group_id else rule.remote_group_id
    return rule.direction, rule.ethertype, remote


async def test_the_default_group_is_made_on_first_use_with_four_rules(
    sim: SimulatorProvider,
) -> None:
    assert await sim.network.security_groups() == []
    group = await sim.network.find_security_group("default", project_id="project-a")
    assert group is not None
    assert (group.name, group.project_id) == ("default", "project-a")
    assert sorted(shape(r, group.id) for r in group.rules) == [
        ("egress", "IPv4", None),
        ("egress", "IPv6", None),
        ("ingress", "IPv4", "self"),
        ("ingress", "IPv6", "self"),
    ]
    assert all(r.protocol is None and r.remote_ip_prefix is None for r in group.rules)
    again = await sim.network.find_security_group("default", project_id="project-a")
    assert again == group
    other = await sim.network.find_security_group("default", project_id="project-b")
    assert other is not None and other.id != group.id
    assert len(await sim.network.security_groups()) == 2


async def test_find_by_another_name_does_not_create(sim: SimulatorProvider) -> None:
    assert await sim.network.find_security_group("web", project_id="project-a") is None
    web = await sim.network.create_security_group(SecurityGroupSpec("web", "project-a"))
    assert await sim.network.find_security_group("web", project_id="project-a") == web
    assert await sim.network.find_security_group("web", project_id="project-b") is None


async def test_a_new_group_has_the_two_egress_rules(sim: SimulatorProvider) -> None:
    group = await sim.network.create_security_group(
        SecurityGroupSpec("web", "project-a", tags=("stackgate-id=g",))
    )
    assert sorted(shape(r, group.id) for r in group.rules) == [
        ("egress", "IPv4", None),
        ("egress", "IPv6", None),
    ]
    assert await sim.network.security_groups(tags=("stackgate-id=g",)) == [group]
    assert await sim.network.security_groups(tags=("stackgate-id=h",)) == []


@pytest.mark.parametrize("name", ["default", "Default"])
async def test_a_new_group_may_not_be_called_default(sim: SimulatorProvider, name: str) -> None:
    with pytest.raises(ProviderBadRequest) as refused:
        await sim.network.create_security_group(SecurityGroupSpec(name, "project-a"))
    assert refused.value.status_code == 400
    assert await sim.network.security_groups() == []


async def test_an_identical_rule_is_a_conflict_naming_the_rule(sim: SimulatorProvider) -> None:
    group = await sim.network.create_security_group(SecurityGroupSpec("web", "project-a"))
    ssh = RuleSpec(
        group.id,
        "ingress",
        protocol="tcp",
        port_range_min=22,
        port_range_max=22,
        remote_ip_prefix="0.0.0.0/0",
    )
    rule = await sim.network.create_security_group_rule(ssh)
    assert (rule.protocol, rule.port_range_min, rule.port_range_max) == ("tcp", 22, 22)
    with pytest.raises(ProviderConflict) as refused:
        await sim.network.create_security_group_rule(ssh)
    assert refused.value.message == f"Security group rule already exists. Rule id is {rule.id}."
    # An egress rule of the template is a duplicate too.
    with pytest.raises(ProviderConflict, match="Security group rule already exists"):
        await sim.network.create_security_group_rule(RuleSpec(group.id, "egress", "IPv6"))
    # A different description does not make a rule different.
    with pytest.raises(ProviderConflict):
        await sim.network.create_security_group_rule(
            RuleSpec(
                group.id,
                "ingress",
                protocol="TCP",
                port_range_min=22,
                port_range_max=22,
                remote_ip_prefix="0.0.0.0/0",
                description="again",
            )
        )
    [listed] = await sim.network.security_groups()
    assert len(listed.rules) == 3


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"direction": "sideways"}, "Invalid input for direction"),
        ({"ethertype": "IPX"}, "Invalid input for ethertype"),
        ({"protocol": None}, "Must also specify protocol if port range is given"),
        ({"port_range_min": 80, "port_range_max": 22}, "port_range_min must be <= port_range_max"),
        ({"port_range_min": 0}, "port_range_min must be <= port_range_max"),
        ({"remote_ip_prefix": "10.0.0.0/99"}, "is not a valid IP prefix"),
        ({"remote_ip_prefix": "fd00::/64"}, "Conflicting value ethertype IPv4"),
        ({"protocol": "icmp", "port_range_min": 300}, "Invalid value for ICMP field"),
        ({"protocol": "gre"}, "does not support port ranges"),
    ],
)
async def test_bad_rules_are_refused(
    sim: SimulatorProvider, changes: dict[str, object], message: str
) -> None:
    group = await sim.network.create_security_group(SecurityGroupSpec("web", "project-a"))
    fields: dict[str, object] = {
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": "tcp",
        "port_range_min": 22,
        "port_range_max": 22,
    }
    fields.update(changes)
    spec = RuleSpec(group.id, **fields)  # type: ignore[arg-type]
    with pytest.raises(ProviderBadRequest, match=message):
        await sim.network.create_security_group_rule(spec)
    [listed] = await sim.network.security_groups()
    assert len(listed.rules) == 2


async def test_rules_are_normalised_like_neutron(sim: SimulatorProvider) -> None:
    group = await sim.network.create_security_group(SecurityGroupSpec("web", "project-a"))
    every_port = await sim.network.create_security_group_rule(
        RuleSpec(
            group.id,
            "ingress",
            protocol="udp",
            port_range_min=1,
            port_range_max=65535,
            remote_ip_prefix="10.0.0.5",
        )
    )
    assert (every_port.port_range_min, every_port.port_range_max) == (None, None)
    assert every_port.remote_ip_prefix == "10.0.0.5/32"


async def test_a_rule_needs_its_groups(sim: SimulatorProvider) -> None:
    with pytest.raises(ProviderNotFound, match="Security group nope does not exist"):
        await sim.network.create_security_group_rule(RuleSpec("nope", "ingress"))
    group = await sim.network.create_security_group(SecurityGroupSpec("web", "project-a"))
    with pytest.raises(ProviderNotFound, match="Security group gone does not exist"):
        await sim.network.create_security_group_rule(
            RuleSpec(group.id, "ingress", remote_group_id="gone")
        )


async def test_delete_rule_and_group(sim: SimulatorProvider) -> None:
    group = await sim.network.create_security_group(SecurityGroupSpec("web", "project-a"))
    await sim.network.delete_security_group_rule(group.rules[0].id)
    await sim.network.delete_security_group_rule(group.rules[0].id)  # missing: fine
    [listed] = await sim.network.security_groups()
    assert [r.id for r in listed.rules] == [group.rules[1].id]
    await sim.network.delete_security_group(group.id)
    await sim.network.delete_security_group(group.id)
    assert await sim.network.security_groups() == []


async def test_a_group_used_by_a_port_is_in_use(sim: SimulatorProvider) -> None:
    network, _ = await private_network(sim)
    group = await sim.network.create_security_group(SecurityGroupSpec("web", "project-a"))
    port = await sim.network.create_port(
        PortSpec(network.id, "project-a", security_group_ids=(group.id,))
    )
    with pytest.raises(ProviderConflict) as refused:
        await sim.network.delete_security_group(group.id)
    assert refused.value.message == f"Security Group {group.id} in use."
    await sim.network.update_port(port.id, security_group_ids=())
    await sim.network.delete_security_group(group.id)
    assert await sim.network.find_security_group("web", project_id="project-a") is None


async def test_deleting_a_group_drops_rules_that_name_it_as_remote(
    sim: SimulatorProvider,
) -> None:
    web = await sim.network.create_security_group(SecurityGroupSpec("web", "project-a"))
    db = await sim.network.create_security_group(SecurityGroupSpec("db", "project-a"))
    await sim.network.create_security_group_rule(
        RuleSpec(
            db.id,
            "ingress",
            protocol="tcp",
            port_range_min=5432,
            port_range_max=5432,
            remote_group_id=web.id,
        )
    )
    await sim.network.delete_security_group(web.id)
    [left] = await sim.network.security_groups()
    assert left.id == db.id and len(left.rules) == 2

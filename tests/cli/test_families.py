"""A representative verb of every object family, against the app."""

from __future__ import annotations

import pytest
import yaml

from tests.cli.conftest import Cli, json_of, ok, unique


def test_volumes_and_snapshots(demo: Cli) -> None:
    name = unique("vol")
    volume_id = ok(
        demo("volume", "create", name, "--size", "1", "--wait", "-f", "value", "-c", "id")
    ).stdout.strip()
    assert json_of(demo("volume", "show", name, "-f", "json"))["status"] == "available"
    snap = json_of(
        demo("volume", "snapshot", "create", f"{name}-s", "--volume", name, "--wait", "-f", "json")
    )
    assert snap["status"] == "available" and snap["volume_id"] == volume_id
    listed = json_of(demo("volume", "snapshot", "list", "--volume", name, "-f", "json"))
    assert [row["ID"] for row in listed] == [snap["id"]]
    ok(demo("volume", "snapshot", "delete", snap["id"], "--wait"))
    extended = json_of(demo("volume", "extend", name, "--size", "2", "--wait", "-f", "json"))
    assert extended["size"] == 2
    ok(demo("volume", "delete", name, "--wait"))
    assert json_of(demo("volume", "list", "--name", name, "-f", "json")) == []


def test_networks_subnets_ports(demo: Cli) -> None:
    net = unique("net")
    ok(demo("network", "create", net, "--wait"))
    subnet = json_of(
        demo(
            "subnet",
            "create",
            f"{net}-sub",
            "--network",
            net,
            "--subnet-range",
            "10.77.0.0/24",
            "--wait",
            "-f",
            "json",
        )
    )
    assert subnet["cidr"] == "10.77.0.0/24"
    port = json_of(demo("port", "create", f"{net}-port", "--network", net, "--wait", "-f", "json"))
    assert port["fixed_ips"]
    ports = json_of(demo("port", "list", "--network", net, "-f", "json"))
    assert [row["ID"] for row in ports] == [port["id"]]
    assert json_of(demo("subnet", "list", "--network", net, "-f", "json"))[0]["Subnet"] == (
        "10.77.0.0/24"
    )
    ok(demo("port", "delete", port["id"], "--wait"))
    ok(demo("subnet", "delete", subnet["id"], "--wait"))
    ok(demo("network", "delete", net, "--wait"))


def test_security_groups_and_rules_in_both_spellings(demo: Cli) -> None:
    group = unique("sg")
    ok(demo("security", "group", "create", group, "--description", "web"))
    rule = json_of(
        demo(
            "security",
            "group",
            "rule",
            "create",
            group,
            "--protocol",
            "tcp",
            "--dst-port",
            "80:81",
            "-f",
            "json",
        )
    )
    assert (rule["port_range_min"], rule["port_range_max"]) == (80, 81)
    rules = json_of(demo("security-group", "rule", "list", group, "-f", "json"))
    assert {"Port Range": "80:81", "IP Protocol": "tcp"}.items() <= next(
        r for r in rules if r["ID"] == rule["id"]
    ).items()
    names = [row["Name"] for row in json_of(demo("security-group", "list", "-f", "json"))]
    assert group in names
    ok(demo("security", "group", "rule", "delete", group, rule["id"]))
    ok(demo("security", "group", "delete", group))


def test_floating_ips(demo: Cli) -> None:
    server = unique("web")
    ok(demo("server", "create", server, "--flavor", "m1.tiny", "--image", "cirros-0.6", "--wait"))
    fip = json_of(demo("floating", "ip", "create", "--server", server, "-f", "json"))
    assert fip["server_id"] and fip["floating_ip_address"]
    listed = json_of(demo("floating-ip", "list", "-f", "json"))
    assert fip["id"] in [row["ID"] for row in listed]
    ok(demo("floating", "ip", "unset", fip["floating_ip_address"], "--port"))
    ok(demo("floating", "ip", "delete", fip["id"]))


def test_catalog(demo: Cli) -> None:
    image = json_of(demo("image", "show", "cirros-0.6", "-f", "json"))
    assert image["name"] == "cirros-0.6"
    assert "cirros-0.6" in ok(demo("image", "list", "-f", "value", "-c", "name")).stdout.split()


def test_projects_users_roles_quotas(admin: Cli, demo: Cli) -> None:
    project, user = unique("proj"), unique("user")
    ok(admin("project", "create", project))
    ok(admin("user", "create", user, "--password-stdin", input="a-long-password-1\n"))
    ok(admin("role", "add", "member", "--project", project, "--user", user))
    assert project in [row["Name"] for row in json_of(admin("project", "list", "-f", "json"))]
    assert user in [row["Name"] for row in json_of(admin("user", "list", "-f", "json"))]
    ok(admin("quota", "set", "instances=7", "cores=-1", "--project", project))
    quotas = {
        row["Resource"]: row
        for row in json_of(admin("quota", "show", "--project", project, "-f", "json"))
    }
    assert quotas["instances"]["Limit"] == 7 and quotas["instances"]["In Use"] == 0
    assert admin("quota", "set", "bananas=3", "--project", project).exit_code == 2
    ok(admin("role", "remove", "member", "--project", project, "--user", user))
    own = json_of(demo("quota", "show", "-f", "json"))
    assert "instances" in [row["Resource"] for row in own]
    refused = demo("project", "create", unique("nope"))
    assert refused.exit_code == 1 and "403" in refused.stderr


def test_usage_show(demo: Cli) -> None:
    usage = json_of(demo("usage", "show", "-f", "json"))
    assert {"project_id", "start", "end", "currency", "total"} <= set(usage)
    assert isinstance(json_of(demo("usage", "show", "--detail", "-f", "json")), list)


def test_fakecloud_clouds_yaml(anonymous: Cli) -> None:
    result = ok(
        anonymous("fakecloud", "clouds-yaml", "--password", "secret", STACKGATE_PORT="5055")
    )
    cloud = yaml.safe_load(result.stdout)["clouds"]["stackgate"]
    assert cloud["auth"]["auth_url"].endswith(":5055/v3")
    assert (
        cloud["auth"]
        | {
            "username": "admin",
            "project_name": "admin",
            "user_domain_name": "Default",
            "password": "secret",
        }
        == cloud["auth"]
    )
    assert cloud["region_name"] == "RegionOne"


def test_bare_fakecloud_still_serves(anonymous: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import stackgate.cli.main as main

    calls: list[str] = []
    monkeypatch.setattr(main, "_run_fakecloud", lambda **_: calls.append("served"))
    ok(anonymous("fakecloud"))
    ok(anonymous("fakecloud", "serve"))
    assert calls == ["served", "served"]
    assert "clouds-yaml" in ok(anonymous("fakecloud", "--help")).stdout

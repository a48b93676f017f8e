"""Server verbs against the app: --wait, names and ids, exit codes, stdout kept clean."""

from __future__ import annotations

import uuid

from tests.cli.conftest import Cli, json_of, ok, unique

BOOT = ("--flavor", "m1.tiny", "--image", "cirros-0.6")


def test_create_wait_json_leaves_only_valid_json_on_stdout(demo: Cli) -> None:
    name = unique("web")
    server = json_of(demo("server", "create", name, *BOOT, "--wait", "-f", "json"))
    assert server["name"] == name and server["status"] == "ACTIVE"
    listed = json_of(demo("server", "list", "-f", "json", "--name", name))
    assert [(row["ID"], row["Status"]) for row in listed] == [(server["id"], "ACTIVE")]
    assert listed[0]["Networks"].startswith("private=")


def test_value_c_id_feeds_scripts_and_names_or_ids_both_work(demo: Cli) -> None:
    name = unique("web")
    result = ok(demo("server", "create", name, *BOOT, "-f", "value", "-c", "id"))
    server_id = result.stdout.strip()
    uuid.UUID(server_id)
    assert result.stdout == f"{server_id}\n"
    by_name = json_of(demo("server", "show", name, "-f", "json"))
    by_id = json_of(demo("server", "show", server_id, "-f", "json"))
    assert by_name["id"] == by_id["id"] == server_id
    ok(demo("server", "delete", name, "--wait"))
    assert json_of(demo("server", "list", "-f", "json", "--name", name)) == []
    gone = demo("server", "show", name)
    assert gone.exit_code == 1
    assert name in gone.stderr and gone.stdout == ""


def test_an_ambiguous_name_lists_the_matches(demo: Cli) -> None:
    name = unique("twin")
    ids = [
        ok(
            demo("server", "create", name, *BOOT, "--wait", "-f", "value", "-c", "id")
        ).stdout.strip()
        for _ in range(2)
    ]
    result = demo("server", "show", name)
    assert result.exit_code == 1
    assert "2 servers are named" in result.stderr
    assert all(server_id in result.stderr for server_id in ids)
    ok(demo("server", "delete", *ids))


def test_lifecycle_actions_wait_and_print_the_final_state(demo: Cli) -> None:
    name = unique("web")
    ok(demo("server", "create", name, *BOOT, "--wait", "-f", "value", "-c", "id"))
    stopped = json_of(demo("server", "stop", name, "--wait", "-f", "json"))
    assert stopped["status"] == "SHUTOFF" and stopped["task_state"] is None
    started = json_of(demo("server", "start", name, "--wait", "-f", "json", "-c", "status"))
    assert started == {"status": "ACTIVE"}
    ok(demo("server", "reboot", "--hard", name, "--wait"))
    events = json_of(demo("server", "event", "list", name, "-f", "json"))
    actions = [row["Action"] for row in events]
    assert {"create", "stop", "start", "reboot"} <= set(actions)
    assert list(events[0]) == [
        "Request ID",
        "Action",
        "Start Time",
        "Finish Time",
        "Result",
        "Message",
        "User ID",
    ]


def test_resize_then_confirm(demo: Cli) -> None:
    name = unique("web")
    ok(demo("server", "create", name, *BOOT, "--wait"))
    resized = json_of(
        demo("server", "resize", name, "--flavor", "m1.small", "--wait", "-f", "json")
    )
    assert resized["status"] == "VERIFY_RESIZE"
    confirmed = json_of(demo("server", "resize", "confirm", name, "--wait", "-f", "json"))
    assert confirmed["status"] == "ACTIVE" and confirmed["flavor"]["name"] == "m1.small"


def test_usage_errors_exit_2(demo: Cli) -> None:
    missing = demo("server", "create", unique("web"), "--image", "cirros-0.6")
    assert missing.exit_code == 2 and "--flavor" in missing.stderr
    unknown = demo("server", "list", "--colour")
    assert unknown.exit_code == 2
    resize = demo("server", "resize", "some-server")
    assert resize.exit_code == 2 and "--flavor" in resize.stderr
    no_arg = demo("server", "show")
    assert no_arg.exit_code == 2


def test_an_api_refusal_prints_title_detail_and_request_id(demo: Cli) -> None:
    result = demo(
        "server", "create", unique("web"), "--flavor", "no-such-flavor", "--image", "cirros-0.6"
    )
    assert result.exit_code == 1
    assert "Request ID:" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_add_and_remove_volume(demo: Cli) -> None:
    name, disk = unique("web"), unique("disk")
    ok(demo("server", "create", name, *BOOT, "--wait"))
    ok(demo("volume", "create", disk, "--size", "1", "--wait"))
    ok(demo("server", "add", "volume", name, disk, "--wait"))
    assert json_of(demo("volume", "show", disk, "-f", "json"))["status"] == "in-use"
    ok(demo("server", "remove", "volume", name, disk, "--wait"))
    assert json_of(demo("volume", "show", disk, "-f", "json"))["status"] == "available"


def test_add_security_group_both_spellings(demo: Cli) -> None:
    name, group = unique("web"), unique("sg")
    ok(demo("server", "create", name, *BOOT, "--wait"))
    ok(demo("security", "group", "create", group))
    ok(demo("server", "add", "security", "group", name, group, "--wait"))
    shown = json_of(demo("server", "show", name, "-f", "json"))
    assert group in [g["name"] for g in shown["security_groups"]]
    ok(demo("server", "remove", "security-group", name, group, "--wait"))
    shown = json_of(demo("server", "show", name, "-f", "json"))
    assert group not in [g["name"] for g in shown["security_groups"]]


def test_server_image_create(demo: Cli) -> None:
    name = unique("web")
    ok(demo("server", "create", name, *BOOT, "--wait"))
    image = json_of(
        demo("server", "image", "create", name, "--name", f"{name}-snap", "--wait", "-f", "json")
    )
    assert image["name"] == f"{name}-snap" and image["status"] == "active"

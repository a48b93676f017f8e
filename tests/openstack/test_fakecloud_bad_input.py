"""Whatever a client sends the fake cloud, it answers as the service would (4xx), never 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.openstack.conftest import FAKE_PASSWORD

ADMIN = {"name": "admin", "domain": {"name": "Default"}, "password": FAKE_PASSWORD}


def _auth(identity: Any, scope: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"auth": {"identity": identity}}
    if scope is not None:
        body["auth"]["scope"] = scope
    return body


@pytest.mark.parametrize(
    "body,status",
    [
        (_auth({"methods": ["password"], "password": "x"}), 401),
        (_auth({"methods": ["password"], "password": {"user": "x"}}), 401),
        (_auth({"methods": ["password"], "password": {"user": {**ADMIN, "domain": "x"}}}), 401),
        (_auth({"methods": ["password"], "password": {"user": {"id": ["a"]}}}), 401),
        (_auth({"methods": "password"}), 401),
        (_auth({"methods": ["token"], "token": "x"}), 401),
        (_auth({"methods": ["password"], "password": {"user": ADMIN}}, scope="x"), 400),
        (_auth({"methods": ["password"], "password": {"user": ADMIN}}, {"project": "x"}), 401),
        ({"auth": []}, 400),
    ],
)
async def test_malformed_credentials_are_refused(
    fake_url: str, body: dict[str, Any], status: int
) -> None:
    async with httpx.AsyncClient(base_url=fake_url) as http:
        answer = await http.post("/v3/auth/tokens", json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == status


@pytest.mark.parametrize(
    "path,body",
    [
        ("/fakecloud/faults", {"api_errors": "many"}),
        ("/fakecloud/faults", {"fail_call": "create_server", "count": 0}),
        ("/image/v2/images", {"name": ["x"]}),
        ("/image/v2/images", {"name": "x", "min_disk": "big"}),
        ("/image/v2/images", {"id": "not-a-uuid"}),
        ("/compute/v2.1/servers", {"server": {"name": 1, "flavorRef": [], "imageRef": {}}}),
        ("/networking/v2.0/ports", {"port": {"network_id": [], "fixed_ips": "x"}}),
        ("/volume/v3/volumes", {"volume": {"size": "x"}}),
    ],
)
async def test_malformed_bodies_are_400(fake_url: str, path: str, body: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=fake_url) as http:
        login = _auth(
            {"methods": ["password"], "password": {"user": ADMIN}},
            {"project": {"name": "admin", "domain": {"name": "Default"}}},
        )
        issued = await http.post("/v3/auth/tokens", json=login)
        token = issued.headers["X-Subject-Token"]
        answer = await http.post(path, json=body, headers={"X-Auth-Token": token})
    assert answer.status_code == 400, answer.text

"""RFC 9457 problem documents and X-Request-ID on every response, errors included."""

from __future__ import annotations

import re

import httpx
import pytest
from tests.builders import assert_problem, create_server

from stackgate.bootstrap import Container
from stackgate.core.context import DEFAULT_PROJECT_ID

GENERATED_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


class TestProblemDocuments:
    @pytest.mark.parametrize(
        ("method", "path", "status", "code"),
        [
            ("GET", "/api/v1/vms/00000000-0000-0000-0000-000000000000", 404, "not_found"),
            ("GET", "/api/v1/nothing-here", 404, "not_found"),
            ("GET", "/no/such/route", 404, "not_found"),
            ("PUT", "/api/v1/vms", 405, "method_not_allowed"),
            ("DELETE", "/api/v1/flavors", 405, "method_not_allowed"),
            ("GET", "/api/v1/vms?sort=nope", 400, "invalid_sort"),
            ("GET", "/api/v1/vms?per_page=0", 422, "validation_error"),
            ("GET", "/api/v1/flavors/nope", 404, "not_found"),
        ],
    )
    async def test_errors_are_problem_json(
        self, client: httpx.AsyncClient, method: str, path: str, status: int, code: str
    ) -> None:
        response = await client.request(method, path)
        problem = assert_problem(response, status, code)
        assert problem["type"].startswith("https://")
        assert problem["type"].endswith(code)

    async def test_405_names_the_allowed_methods(self, client: httpx.AsyncClient) -> None:
        response = await client.put("/api/v1/vms")
        assert_problem(response, 405)
        allowed = {m.strip() for m in response.headers["allow"].split(",")}
        assert {"GET", "POST"} <= allowed
        assert "PUT" not in allowed

    async def test_validation_problem_lists_every_error(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/v1/vms", json={"name": "", "flavor": 5})
        problem = assert_problem(response, 422, "validation_error")
        fields = {tuple(e["loc"]) for e in problem["errors"]}
        assert ("body", "name") in fields
        assert ("body", "flavor") in fields
        assert ("body", "image") in fields
        assert all({"loc", "msg", "type"} <= e.keys() for e in problem["errors"])

    async def test_domain_problem_carries_its_extra_members(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        server = await create_server(client)
        response = await client.post(f"/api/v1/vms/{server['id']}/actions/start")
        problem = assert_problem(response, 409, "invalid_state_transition")
        assert problem["title"] == "Invalid state transition"
        assert problem["current_status"] == "BUILD"
        assert problem["allowed_actions"] == ["lock", "unlock", "delete"]

    async def test_malformed_json_problem(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/api/v1/vms", content=b"{", headers={"content-type": "application/json"}
        )
        problem = assert_problem(response, 400, "malformed_json")
        assert problem["title"] == "Malformed JSON"

    @pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain"])
    async def test_a_body_that_is_not_json_is_415_naming_the_content_type(
        self, client: httpx.AsyncClient, content_type: str
    ) -> None:
        response = await client.post(
            "/api/v1/vms",
            content=b'{"name": "x", "flavor": "m1.small", "image": "cirros"}',
            headers={"content-type": content_type},
        )
        problem = assert_problem(response, 415, "unsupported_media_type")
        assert "Content-Type: application/json" in problem["detail"]
        assert content_type in problem["detail"]
        assert response.headers["accept-post"] == "application/json"
        assert (await client.get("/api/v1/vms")).json()["items"] == []

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("PATCH", "/api/v1/vms/{id}"),
            ("POST", "/api/v1/networks"),
            ("POST", "/api/v1/volumes"),
            ("PUT", "/api/v1/projects/{project}/quotas"),
        ],
    )
    async def test_every_json_route_answers_415_for_a_form(
        self, client: httpx.AsyncClient, container: Container, method: str, path: str
    ) -> None:
        server = await create_server(client)
        response = await client.request(
            method,
            path.format(id=server["id"], project=DEFAULT_PROJECT_ID),
            content=b"name=x",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert_problem(response, 415, "unsupported_media_type")

    async def test_json_without_a_content_type_says_the_header_is_missing(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/api/v1/vms", content=b'{"name": "x"}')
        problem = assert_problem(response, 415, "unsupported_media_type")
        assert "without a Content-Type header" in problem["detail"]

    async def test_json_with_a_charset_is_json(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/api/v1/vms",
            content=b'{"name": ""}',
            headers={"content-type": "application/json; charset=utf-8"},
        )
        assert_problem(response, 422, "validation_error")


class TestRequestId:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/api/v1/vms"),
            ("POST", "/api/v1/vms"),
            ("GET", "/api/v1/flavors"),
            ("GET", "/api/v1/vms/missing"),
            ("GET", "/not-a-route"),
            ("PATCH", "/api/v1/flavors"),
            ("GET", "/health"),
        ],
    )
    async def test_every_response_has_a_generated_id(
        self, client: httpx.AsyncClient, method: str, path: str
    ) -> None:
        body = {"name": "w", "flavor": "m1.tiny", "image": "cirros-0.6"}
        response = await client.request(method, path, json=body if method == "POST" else None)
        request_id = response.headers.get("x-request-id")
        assert request_id, (response.status_code, response.headers)
        assert GENERATED_ID.match(request_id)
        assert response.headers.get_list("x-request-id") == [request_id]
        if response.status_code >= 400:
            assert response.json()["request_id"] == request_id

    async def test_an_unauthenticated_request_gets_a_problem_with_an_id(
        self, anonymous_client: httpx.AsyncClient
    ) -> None:
        response = await anonymous_client.get("/api/v1/vms", headers={"X-Request-ID": "anon-1"})
        problem = assert_problem(response, 401)
        assert problem["request_id"] == "anon-1"

    async def test_ids_are_unique_per_request(self, client: httpx.AsyncClient) -> None:
        ids = {(await client.get("/api/v1/flavors")).headers["x-request-id"] for _ in range(5)}
        assert len(ids) == 5

    @pytest.mark.parametrize(
        ("method", "path", "status"),
        [
            ("GET", "/api/v1/vms", 200),
            ("GET", "/api/v1/vms/missing", 404),
            ("DELETE", "/api/v1/vms", 405),
            ("GET", "/api/v1/vms?sort=bad", 400),
        ],
    )
    async def test_incoming_id_is_echoed(
        self, client: httpx.AsyncClient, method: str, path: str, status: int
    ) -> None:
        response = await client.request(method, path, headers={"X-Request-ID": "trace-abc.123"})
        assert response.status_code == status
        assert response.headers["x-request-id"] == "trace-abc.123"
        if status >= 400:
            assert response.json()["request_id"] == "trace-abc.123"

    async def test_echoed_on_an_accepted_create(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/api/v1/vms",
            json={"name": "w", "flavor": "m1.tiny", "image": "cirros-0.6"},
            headers={"X-Request-ID": "create-42"},
        )
        assert response.status_code == 202
        assert response.headers["x-request-id"] == "create-42"

    @pytest.mark.parametrize("bad", ["has space", "x" * 129, "semi;colon", "<script>"])
    async def test_unsafe_incoming_id_is_replaced(
        self, client: httpx.AsyncClient, bad: str
    ) -> None:
        response = await client.get("/api/v1/vms", headers={"X-Request-ID": bad})
        assert response.status_code == 200
        replaced = response.headers["x-request-id"]
        assert replaced != bad
        assert GENERATED_ID.match(replaced)

"""Bad create requests: a clear 4xx problem and nothing written (Tempest R1-R3, R11)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.builders import assert_problem, create_image, server_count

from stackgate.bootstrap import Container

VALID = {"name": "web-01", "flavor": "m1.small", "image": "cirros-0.6"}


def body_with(**changes: Any) -> dict[str, Any]:
    body = {**VALID, **changes}
    return {k: v for k, v in body.items() if v is not ...}


async def refused(
    client: httpx.AsyncClient, status: int, code: str | None = None, **post: Any
) -> dict[str, Any]:
    """POST, expect the problem, and check that no server was written."""
    before = await server_count(client)
    response = await client.post("/api/v1/vms", **post)
    problem = assert_problem(response, status, code)
    assert await server_count(client) == before
    return problem


class TestMalformed:
    @pytest.mark.parametrize(
        "raw",
        [b'{"name": "web-01", "flavor": ', b"not json", b'{"name": "x",}', b"\xff\xfe"],
    )
    async def test_malformed_json_is_400(self, client: httpx.AsyncClient, raw: bytes) -> None:
        problem = await refused(
            client,
            400,
            "malformed_json",
            content=raw,
            headers={"content-type": "application/json"},
        )
        assert "JSON" in problem["detail"]

    @pytest.mark.parametrize("raw", [b"[]", b'"a string"', b"42", b"null"])
    async def test_json_that_is_not_an_object_is_refused(
        self, client: httpx.AsyncClient, raw: bytes
    ) -> None:
        await refused(client, 422, content=raw, headers={"content-type": "application/json"})

    async def test_empty_body_is_refused(self, client: httpx.AsyncClient) -> None:
        await refused(client, 422, content=b"", headers={"content-type": "application/json"})


class TestFields:
    @pytest.mark.parametrize("missing", ["name", "flavor", "image"])
    async def test_missing_required_field(self, client: httpx.AsyncClient, missing: str) -> None:
        problem = await refused(client, 422, "validation_error", json=body_with(**{missing: ...}))
        assert missing in problem["detail"]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("name", 123),
            ("name", None),
            ("name", ["web"]),
            ("flavor", 1),
            ("image", {"id": "cirros-0.6"}),
            ("description", 5),
            ("metadata", ["a", "b"]),
            ("metadata", "role=db"),
            ("key_name", True),
            ("user_data", 42),
        ],
    )
    async def test_wrong_types(self, client: httpx.AsyncClient, field: str, value: Any) -> None:
        problem = await refused(client, 422, "validation_error", json=body_with(**{field: value}))
        assert field in problem["detail"]

    @pytest.mark.parametrize("name", ["", " ", "   \t\n", "x" * 256, "é" * 300])
    async def test_bad_names(self, client: httpx.AsyncClient, name: str) -> None:
        problem = await refused(client, 422, json=body_with(name=name))
        assert "name" in problem["detail"]

    async def test_255_character_name_is_accepted(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/v1/vms", json=body_with(name="x" * 255))
        assert response.status_code == 202, response.text
        assert response.json()["name"] == "x" * 255

    async def test_unknown_field_is_refused(self, client: httpx.AsyncClient) -> None:
        problem = await refused(client, 422, json=body_with(networks=[{"uuid": "abc"}]))
        assert "networks" in problem["detail"]

    async def test_status_cannot_be_chosen_by_the_client(self, client: httpx.AsyncClient) -> None:
        await refused(client, 422, json=body_with(status="ACTIVE"))

    @pytest.mark.parametrize(
        "changes",
        [
            {"name": "web\x00-01"},
            {"description": "a\x00b"},
            {"key_name": "k\x00"},
            {"user_data": "#!/bin/sh\x00"},
            {"metadata": {"role\x00": "db"}},
            {"metadata": {"role": "d\x00b"}},
            {"flavor": "m1.small\x00"},
            {"image": "\x00cirros-0.6"},
        ],
    )
    async def test_nul_bytes_are_refused(
        self, client: httpx.AsyncClient, changes: dict[str, Any]
    ) -> None:
        problem = await refused(client, 422, json=body_with(**changes))
        assert "NUL" in problem["detail"]

    async def test_oversized_fields(self, client: httpx.AsyncClient) -> None:
        await refused(client, 422, json=body_with(description="d" * 1001))
        await refused(client, 422, json=body_with(user_data="u" * 65536))
        await refused(client, 422, json=body_with(flavor="f" * 256))


class TestMetadata:
    async def test_129_items_are_refused(self, client: httpx.AsyncClient) -> None:
        metadata = {f"key{i}": "v" for i in range(129)}
        problem = await refused(client, 422, json=body_with(metadata=metadata))
        assert "metadata" in problem["detail"]

    async def test_128_items_are_accepted(self, client: httpx.AsyncClient) -> None:
        metadata = {f"key{i}": "v" for i in range(128)}
        response = await client.post("/api/v1/vms", json=body_with(metadata=metadata))
        assert response.status_code == 202, response.text
        assert response.json()["metadata"] == metadata

    @pytest.mark.parametrize("value", [1, 1.5, True, None, ["a"], {"nested": "x"}])
    async def test_non_string_values_are_refused(
        self, client: httpx.AsyncClient, value: Any
    ) -> None:
        problem = await refused(client, 422, json=body_with(metadata={"role": value}))
        assert "metadata" in problem["detail"]

    @pytest.mark.parametrize("metadata", [{"": "blank key"}, {"k" * 256: "v"}, {"k": "v" * 256}])
    async def test_bad_keys_and_values(
        self, client: httpx.AsyncClient, metadata: dict[str, str]
    ) -> None:
        await refused(client, 422, json=body_with(metadata=metadata))


class TestReferences:
    @pytest.mark.parametrize("ref", ["m9.huge", "00000000-0000-0000-0000-00000000dead"])
    async def test_unknown_flavor_is_400(self, client: httpx.AsyncClient, ref: str) -> None:
        problem = await refused(client, 400, "unknown_reference", json=body_with(flavor=ref))
        assert problem["field"] == "flavor"
        assert "flavor" in problem["detail"]
        assert ref in problem["detail"]

    @pytest.mark.parametrize("ref", ["windows-95", "00000000-0000-0000-0000-00000000beef"])
    async def test_unknown_image_is_400(self, client: httpx.AsyncClient, ref: str) -> None:
        problem = await refused(client, 400, "unknown_reference", json=body_with(image=ref))
        assert problem["field"] == "image"
        assert "image" in problem["detail"]

    @pytest.mark.parametrize(
        ("field", "typo", "meant", "listed_at"),
        [
            ("flavor", "m1.smal", "m1.small", "/api/v1/flavors"),
            ("image", "cirros-06", "cirros-0.6", "/api/v1/images"),
            ("networks", ["backnd"], "backend", "/api/v1/networks"),
            ("security_groups", ["defualt"], "default", "/api/v1/security-groups"),
        ],
    )
    async def test_a_typo_gets_the_close_match_and_where_to_list(
        self,
        client: httpx.AsyncClient,
        field: str,
        typo: str | list[str],
        meant: str,
        listed_at: str,
    ) -> None:
        created = await client.post("/api/v1/networks", json={"name": "backend"})
        assert created.status_code in (201, 202), created.text
        problem = await refused(client, 400, "unknown_reference", json=body_with(**{field: typo}))
        assert problem["field"] == field
        assert problem["suggestions"] == [meant]
        assert f"did you mean {meant!r}?" in problem["detail"]
        assert f"see GET {listed_at}" in problem["detail"]
        assert problem["listed_at"] == listed_at

    async def test_a_mistyped_volume_id_gets_the_close_id(self, client: httpx.AsyncClient) -> None:
        volume = await client.post("/api/v1/volumes", json={"name": "data", "size": 1})
        assert volume.status_code == 202, volume.text
        real = volume.json()["id"]
        typo = real[:-1] + ("0" if real[-1] != "0" else "1")
        problem = await refused(client, 400, "unknown_reference", json=body_with(volumes=[typo]))
        assert problem["suggestions"] == [real]
        assert "see GET /api/v1/volumes" in problem["detail"]

    async def test_nothing_close_suggests_nothing(self, client: httpx.AsyncClient) -> None:
        problem = await refused(client, 400, "unknown_reference", json=body_with(flavor="zzzzzzzz"))
        assert problem["suggestions"] == []
        assert "did you mean" not in problem["detail"]
        assert "see GET /api/v1/flavors" in problem["detail"]

    async def test_image_larger_than_the_flavor_disk_is_400(
        self, client: httpx.AsyncClient
    ) -> None:
        image = await create_image(client, name="big-disk", min_disk_gb=100)
        problem = await refused(
            client, 400, "flavor_too_small", json=body_with(flavor="m1.tiny", image=image["id"])
        )
        assert "min_disk" in problem["detail"]
        assert problem["field"] == "flavor"

    async def test_image_needing_more_ram_than_the_flavor_is_400(
        self, client: httpx.AsyncClient
    ) -> None:
        image = await create_image(client, name="big-ram", min_ram_mb=1024)
        problem = await refused(
            client, 400, "flavor_too_small", json=body_with(flavor="m1.tiny", image=image["id"])
        )
        assert "min_ram" in problem["detail"]

    async def test_image_that_fits_is_accepted(
        self, client: httpx.AsyncClient, container: Container
    ) -> None:
        image = await create_image(client, name="fits", min_disk_gb=20)
        response = await client.post(
            "/api/v1/vms", json=body_with(flavor="m1.small", image=image["id"])
        )
        assert response.status_code == 202, response.text

    async def test_ambiguous_image_name_is_400(self, client: httpx.AsyncClient) -> None:
        await create_image(client, name="twin-image")
        await create_image(client, name="twin-image")
        problem = await refused(
            client, 400, "ambiguous_reference", json=body_with(image="twin-image")
        )
        assert problem["field"] == "image"

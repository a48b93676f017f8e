"""/docs works without internet and describes the whole API wherever it is served: `stackgate
api`, `serve` (the gateway with the API in it) and a gateway in front of a remote API; GET /
points there. The apps are built, never started (no database is opened)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import make_settings

from stackgate.app import create_app
from stackgate.gateway.app import create_gateway

SETTINGS = {"database_url": "sqlite+aiosqlite://"}


# Built once per shape: building the whole API and its document takes a second or two.
@cache
def api_app() -> FastAPI:
    return create_app(make_settings(**SETTINGS), run_worker=False)


@cache
def serve_app() -> FastAPI:
    settings = make_settings(**SETTINGS)
    return create_gateway(
        settings, api_app=create_app(settings, run_worker=False, billing=True), configure_logs=False
    )


@cache
def remote_gateway(billing_url: str | None = None) -> FastAPI:
    settings = make_settings(**SETTINGS, api_url="http://api.internal", billing_url=billing_url)
    return create_gateway(settings, configure_logs=False)


@asynccontextmanager
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stackgate") as http:
        yield http


SHAPES = {"api": api_app, "serve": serve_app, "gateway": remote_gateway}


@pytest.mark.parametrize("shape", SHAPES)
async def test_docs_load_every_asset_from_the_package(shape: str) -> None:
    async with client(SHAPES[shape]()) as http:
        page = await http.get("/docs")
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        # Nothing from another host: the page works on a machine without internet.
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text), page.text
        assets = re.findall(r"""(?:src|href)=["']?([^"' >]+)""", page.text)
        assert len(assets) == 3, assets
        for url in assets:
            answer = await http.get(url)
            assert answer.status_code == 200, url
            assert len(answer.content) > 500, url
        kinds = {url.rsplit(".", 1)[1]: url for url in assets}
        css = await http.get(kinds["css"])
        assert css.headers["content-type"].startswith("text/css")
        bundle = await http.get(kinds["js"])
        assert "SwaggerUIBundle" in bundle.text
        assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
        redirect = await http.get("/docs/oauth2-redirect")
        assert redirect.status_code == 200
        assert (await http.get("/redoc")).status_code == 404  # not offered (no CDN)
        assert (await http.get("/docs/assets/no-such-file.js")).status_code == 404


@pytest.mark.parametrize("shape", SHAPES)
async def test_the_root_points_to_the_docs(shape: str) -> None:
    async with client(SHAPES[shape]()) as http:
        browser = await http.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
        assert browser.status_code == 307
        assert browser.headers["location"] == "/docs"
        index = await http.get("/")
        assert index.status_code == 200
        body = index.json()
        assert body["docs"] == "/docs"
        assert body["openapi"] == "/openapi.json"
        assert (await http.get(body["openapi"])).status_code == 200


async def _document(app: FastAPI) -> dict[str, Any]:
    async with client(app) as http:
        answer = await http.get("/openapi.json")
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


async def test_a_gateway_in_front_of_a_remote_api_documents_the_whole_api() -> None:
    """The same paths, schemas and OAuth2 login as the API's own document (`serve` shows the
    same), plus the gateway's POST /api/billing; no catch-all stands in for them."""
    api = await _document(api_app())
    gateway = await _document(remote_gateway())
    api_paths = {p for p in api["paths"] if p.startswith("/api/v1/")}
    assert len(api_paths) > 40
    assert api_paths <= set(gateway["paths"])
    assert gateway["paths"]["/api/v1/vms"] == api["paths"]["/api/v1/vms"]
    assert "/api/billing" in gateway["paths"]
    assert not [p for p in gateway["paths"] if "{path}" in p]
    schemes = gateway["components"]["securitySchemes"]
    assert schemes == api["components"]["securitySchemes"]
    (scheme,) = schemes.values()
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert set(api["components"]["schemas"]) <= set(gateway["components"]["schemas"])
    # The document resolves: every $ref names a schema it holds.
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', str(gateway).replace("'", '"')))
    assert refs <= set(gateway["components"]["schemas"]), refs - set(
        gateway["components"]["schemas"]
    )
    # Billing is documented when the gateway routes it, and not otherwise.
    assert not [p for p in gateway["paths"] if p.startswith("/api/v1/billing")]
    routed = await _document(remote_gateway(billing_url="http://billing.internal"))
    assert "/api/v1/billing/orders" in routed["paths"]


async def test_serve_documents_what_a_split_gateway_documents() -> None:
    serve = await _document(serve_app())
    split = await _document(remote_gateway(billing_url="http://billing.internal"))
    assert set(serve["paths"]) == set(split["paths"])
    assert serve["components"]["securitySchemes"] == split["components"]["securitySchemes"]

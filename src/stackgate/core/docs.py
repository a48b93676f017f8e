"""The interactive documentation (/docs) and the index (GET /), served from the package.

FastAPI's own /docs loads Swagger UI from a CDN, so it is a blank page on a machine without
internet (common next to a private cloud). Swagger UI's files (swagger-ui-dist 5.36.0 from npm,
Apache-2.0, LICENSE and NOTICE beside them) ship in `docs_assets/` and are served at
/docs/assets. ReDoc is not offered: its bundle would be another megabyte for the same document.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from stackgate import __version__

ASSETS = Path(__file__).with_name("docs_assets")
ASSETS_URL = "/docs/assets"
DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def install_docs(app: FastAPI) -> None:
    """/docs from the package's own Swagger UI files, and GET / pointing to it. The app must be
    built with `docs_url=None, redoc_url=None` (FastAPI's CDN pages)."""

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} - API documentation",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon-32x32.png",
            oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
        )

    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def index(request: Request) -> Response:
        """A browser goes to the documentation; anything else gets where things are."""
        if "text/html" in request.headers.get("accept", ""):
            return RedirectResponse(DOCS_URL, status_code=307)
        return JSONResponse(
            {
                "name": app.title,
                "version": __version__,
                "docs": DOCS_URL,
                "openapi": app.openapi_url,
                "health": "/health",
                "api": "/api/v1",
            }
        )

    app.add_api_route(DOCS_URL, swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        OAUTH2_REDIRECT_URL, oauth2_redirect, methods=["GET"], include_in_schema=False
    )
    app.add_api_route("/", index, methods=["GET"], include_in_schema=False)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")

"""create_fakecloud_app: one ASGI app on one port, DevStack's layout.

Keystone at /v3 (so `OS_AUTH_URL=http://127.0.0.1:5000/v3`), Nova at /compute/v2.1, Glance at
/image, Neutron at /networking, Cinder at /volume/v3, each listed in the token's catalog.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from stackgate.fakecloud import cinder, glance, keystone, neutron, nova
from stackgate.fakecloud.auth import require_admin
from stackgate.fakecloud.cloud import FakeCloud
from stackgate.fakecloud.errors import (
    CloudError,
    cloud_error_handler,
    provider_error_handler,
    render,
    service_of,
    validation_error_handler,
)
from stackgate.providers.base import ProviderError


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = "The resource could not be found." if exc.status_code == 404 else str(exc.detail)
    return render(CloudError(service_of(request.url.path), exc.status_code, message))


def create_fakecloud_app(cloud: FakeCloud, *, manage_sim: bool = True) -> FastAPI:
    """The fake cloud; with `manage_sim` the app starts and closes the simulator itself
    (tests that share one simulator with StackGate pass False)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_sim:
            await cloud.sim.start()
        # DevStack's `private` network of the admin project, as `openstack server create
        # --network private` expects to find it.
        if cloud.devstack_networks:
            await neutron.seed_private_network(cloud)
        try:
            yield
        finally:
            if manage_sim:
                await cloud.sim.close()

    app = FastAPI(
        title="StackGate fakecloud",
        description="The simulator behind OpenStack's own APIs.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.cloud = cloud
    app.add_exception_handler(CloudError, cloud_error_handler)
    app.add_exception_handler(ProviderError, provider_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(keystone.router)
    app.include_router(nova.router, prefix="/compute")
    app.include_router(glance.router, prefix="/image")
    app.include_router(neutron.router, prefix="/networking")
    app.include_router(cinder.router, prefix="/volume")

    @app.post("/fakecloud/faults", status_code=204, include_in_schema=False)
    async def faults(request: Request, body: dict[str, Any] = Body(...)) -> Response:
        """Test hook (admin token): {"api_errors": N} answers the next N calls 503;
        {"fail_call": "create_server", "count": N} fails that proxy method's next N calls."""
        require_admin(request)
        try:
            api_errors = int(body.get("api_errors") or 0)
            failing = str(body["fail_call"]) if body.get("fail_call") else None
            count = int(body.get("count", 1))
        except (TypeError, ValueError) as exc:
            raise CloudError("keystone", 400, f"Invalid fault request: {exc}") from exc
        if api_errors < 0 or count < 1:
            raise CloudError("keystone", 400, "api_errors must be >= 0 and count >= 1")
        if api_errors:
            cloud.sim.inject_api_errors(api_errors)
        if failing:
            cloud.sim.fail_call(failing, count)
        if body.get("clear"):
            cloud.sim.faults.clear()
        return Response(status_code=204)

    return app

"""Schemathesis against the app's own OpenAPI document, in process (reference/reliability.md 6).

Every operation gets a bounded, derandomized run of the examples, coverage and fuzzing phases
with all of Schemathesis's default checks: no 5xx, documented statuses, content types and
headers, response bodies that match their schema, valid input accepted, invalid input refused.

The app is the real one, built by `create_app(settings)` on this run's database, its lifespan
run by Schemathesis in its own event loop (an engine bound to pytest's loop cannot be shared).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckContext
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.python import asgi
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send
from tests.conftest import ADMIN_PASSWORD, clean_database, make_settings

from stackgate.app import create_app

MAX_EXAMPLES = 15


class LiveApp:
    """The ASGI app Schemathesis calls: forwards to the app under test, built by a fixture.

    Schemathesis needs the schema while collecting, before the run's database exists, so the
    document comes from an app built for that alone (the OpenAPI document needs no database).
    """

    target: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.target is not None, "the live_app fixture has not run"
        await self.target(scope, receive, send)


LIVE_APP = LiveApp()
# With billing in process, as `stackgate serve` runs it, so its routes are fuzzed too.
schema = schemathesis.openapi.from_dict(
    create_app(make_settings("sqlite+aiosqlite://"), billing=True).openapi()
)
schema.app = LIVE_APP
# No NUL characters: every one is refused before it can reach a database (core/deps.refuse_nul
# for URLs, core/schemas for bodies), as tests/api/test_servers_list.py, test_servers_validation.py
# and test_server_actions_negative.py assert. Request bodies state the rule in their schema, but
# query strings do not, so a generated NUL there would only be reported as a schema-valid
# request rejected: a false positive.
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, allow_x00=False)

# Answers to a schema-valid request that no schema can rule out: the named flavor, image,
# network, group or volume type does not exist (or does not fit), the cursor was not issued by
# us, the Idempotency-Key was used before with another body, or fields contradict each other
# (a gateway outside its CIDR, a port range on a protocol without ports, an IP version that does
# not match). DESIGN.md 4 answers them 400/422, documented on every route; Schemathesis's
# positive_data_acceptance would expect a 2xx or a 404.
STATE_DEPENDENT = frozenset(
    {
        "unknown_reference",
        "ambiguous_reference",
        "image_not_active",
        "flavor_too_small",
        "invalid_cursor",
        "idempotency_key_reused",
        "invalid_subnet",
        "invalid_ip_address",
        "network_not_external",
        "external_network",
        "port_not_of_server",
        "invalid_security_group_rule",
        "reserved_security_group_name",
        "unknown_volume_type",
        "unknown_image",
        "volume_too_small",
        "invalid_new_size",
        "invalid_window",
    }
)
positive_data_acceptance = schemathesis.checks.positive_data_acceptance


def _problem_code(response: Response) -> object:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def valid_input_accepted(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """positive_data_acceptance, except for the state-dependent refusals listed above."""
    if response.status_code in (400, 422) and _problem_code(response) in STATE_DEPENDENT:
        return None
    return positive_data_acceptance(ctx, response, case)


def _admin_token() -> str:
    """Log in through the app itself; entering the client runs its lifespan (seeding users)."""
    with asgi.get_client(LIVE_APP) as http:
        login = {"username": "admin", "password": ADMIN_PASSWORD, "project": "admin"}
        response = http.post("/api/v1/auth/tokens", json=login)
    assert response.status_code == 201, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="module")
async def live_app(
    database_url: str, engine: AsyncEngine, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, str]]:
    """The app on this run's database, from a clean state, cleaned again afterwards; yields
    the headers of the cloud admin, who may call every operation."""
    await clean_database(engine)
    # `Prefer: wait=N` is a header Schemathesis fills in: keep a generated wait short.
    billing_db = tmp_path_factory.mktemp("billing") / "billing.db"
    settings = make_settings(
        database_url, max_wait_seconds=1, billing_database_url=f"sqlite+aiosqlite:///{billing_db}"
    )
    LIVE_APP.target = create_app(settings, billing=True)
    try:
        token = await asyncio.to_thread(_admin_token)
        yield {"Authorization": f"Bearer {token}"}
    finally:
        asgi.shutdown_lifespans()  # the app's shutdown: worker stopped, engine disposed
        LIVE_APP.target = None
        await clean_database(engine)


# An event stream lasts until its client goes: a valid case is given a short
# `timeout_seconds` so its answer ends (an invalid one is left to be refused as it is).
STREAM_SECONDS = 0.05


def bound_event_stream(case: Case) -> None:
    if not case.path.endswith("/events"):
        return
    query = case.query if isinstance(case.query, dict) else {}
    given = query.get("timeout_seconds")
    valid = isinstance(given, int | float) and not isinstance(given, bool) and 0 < given <= 86_400
    if given is None or valid:
        case.query = {**query, "timeout_seconds": STREAM_SECONDS}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_schema(case: Case, live_app: dict[str, str]) -> None:
    bound_event_stream(case)
    case.call_and_validate(
        headers=live_app,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[valid_input_accepted],
    )


async def test_the_served_document_is_the_one_tested(live_app: dict[str, str]) -> None:
    """The cases above come from `app.openapi()`; /openapi.json must serve the same."""
    assert LIVE_APP.target is not None
    transport = httpx.ASGITransport(app=LIVE_APP.target)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/openapi.json")
    assert response.status_code == 200
    served: dict[str, Any] = response.json()
    assert served == schema.raw_schema

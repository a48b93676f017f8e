"""The 401 a refused caller gets, whether for bad credentials or a bad bearer token."""

from __future__ import annotations

import httpx
from tests.builders import assert_problem


def assert_unauthorized(response: httpx.Response, *, invalid_token: bool) -> dict[str, object]:
    """401 problem+json with a Bearer challenge (error="invalid_token" for a bad token)."""
    body = assert_problem(response, 401)
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith('Bearer realm="stackgate"'), challenge
    assert ('error="invalid_token"' in challenge) is invalid_token, challenge
    return body

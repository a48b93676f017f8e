"""Fixtures for the service and worker tests: real database of the run, no HTTP."""

from __future__ import annotations

import pytest

from stackgate.core.context import DEFAULT_PROJECT_ID, RequestContext


@pytest.fixture
def ctx() -> RequestContext:
    """A member of the default project, as the API would resolve it."""
    return RequestContext(project_id=DEFAULT_PROJECT_ID, request_id="req-integration")

"""The audit trail's wiring: its router and table."""

from __future__ import annotations

from stackgate.audit.models import AuditEvent
from stackgate.audit.routes import router
from stackgate.wiring import Feature

FEATURE = Feature(name="audit", routers=(router,), tables=(AuditEvent,))

"""Gateway errors: the broker or the billing hand-off cannot take a message (503)."""

from __future__ import annotations

from stackgate.core.errors import ServiceUnavailable


class BrokerUnavailable(ServiceUnavailable):
    """RabbitMQ is unreachable or did not confirm the publish in time: nothing was accepted."""

    code = "broker_unavailable"
    title = "Message broker unavailable"


class BillingUnavailable(ServiceUnavailable):
    """No broker is configured and no in-process billing consumer is running."""

    code = "billing_unavailable"
    title = "Billing unavailable"

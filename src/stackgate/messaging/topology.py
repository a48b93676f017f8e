"""RabbitMQ names and queue arguments, declared identically by every process (the gateway, the
relay, billing, the tests): a redeclaration with other arguments fails with PRECONDITION_FAILED.

Quorum queues with an explicit delivery limit and dead-letter exchange: RabbitMQ 3.10 (Debian
bookworm) has no default delivery limit, so without these a poison message would be redelivered
forever, and a consumer that rejects would drop it (reference/reliability.md 4).
"""

from __future__ import annotations

from typing import Any

BILLING_QUEUE = "billing_queue"
BILLING_DEAD_LETTER_EXCHANGE = "billing_queue.dlx"
BILLING_DEAD_LETTER_QUEUE = "billing_queue.dead"

EVENTS_EXCHANGE = "stackgate.events"  # topic; routing key = event type
USAGE_QUEUE = "billing_usage"  # billing's subscription to every event
USAGE_DEAD_LETTER_EXCHANGE = "billing_usage.dlx"
USAGE_DEAD_LETTER_QUEUE = "billing_usage.dead"

DELIVERY_LIMIT = 5


def quorum_arguments(dead_letter_exchange: str) -> dict[str, Any]:
    """A durable quorum queue whose poison messages go to `dead_letter_exchange` at least once."""
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": dead_letter_exchange,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }

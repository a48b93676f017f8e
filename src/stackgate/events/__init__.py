"""Resource events: recorded into the outbox with each state change, relayed to RabbitMQ (or to
in-process subscribers when no broker is configured)."""

"""The gateway (`stackgate gateway`): the one door in front of the control-plane API and billing.

It routes `/api/v1/**` to the API (and `/api/v1/billing/**` to the billing service) over HTTP,
or to the apps mounted in the same process (`stackgate serve`), publishes `POST /api/billing`
to RabbitMQ, and adds request ids, CORS, body limits and per-client rate limits.
"""

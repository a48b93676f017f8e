"""Messaging tests: the run's RabbitMQ vhost (tests/messaging_fixtures.py)."""

from __future__ import annotations

from tests.messaging_fixtures import broker_url, broker_vhost

__all__ = ["broker_url", "broker_vhost"]

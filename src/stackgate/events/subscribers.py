"""In-process subscribers: who receives events when no broker is configured (`stackgate serve`
on its embedded default). The billing service registers its usage consumer here.

A subscriber is called with the event envelope (a dict, the same JSON the broker would carry),
may be sync or async, and must be idempotent by `event_id`: an event whose delivery failed for
one subscriber is handed to every subscriber again on retry (at least once, as over AMQP).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

Subscriber = Callable[[dict[str, Any]], Awaitable[None] | None]


class SubscriberRegistry:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def register(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns a function that removes it again."""
        self._subscribers.append(subscriber)
        return lambda: self.unregister(subscriber)

    def unregister(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    def __len__(self) -> int:
        return len(self._subscribers)

    async def deliver(self, envelope: dict[str, Any]) -> None:
        """Hand one event to every subscriber in turn; the first failure propagates."""
        for subscriber in tuple(self._subscribers):
            result = subscriber(copy.deepcopy(envelope))
            if inspect.isawaitable(result):
                await result


# The process's registry: what `stackgate serve` wires the billing consumer into.
default_registry = SubscriberRegistry()


def register(subscriber: Subscriber) -> Callable[[], None]:
    """Receive every event in this process when no broker is configured."""
    return default_registry.register(subscriber)


def unregister(subscriber: Subscriber) -> None:
    default_registry.unregister(subscriber)

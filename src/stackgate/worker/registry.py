"""Which handler drives which operation: one explicit table (cosmic's COMMAND_HANDLERS)."""

from __future__ import annotations

from typing import Protocol


class OperationHandler(Protocol):
    async def handle(self, op_id: str, owner: str) -> None:
        """Advance one leased operation by one step."""
        ...


class HandlerRegistry:
    def __init__(self, handlers: dict[str, OperationHandler]) -> None:
        self._handlers = handlers

    def for_resource(self, resource_type: str) -> OperationHandler | None:
        return self._handlers.get(resource_type)

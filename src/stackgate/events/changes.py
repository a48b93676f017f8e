"""What the recorder hands to the per-feature derivations: one row's change in one flush."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["insert", "update", "delete"]


@dataclass(frozen=True, slots=True)
class Change:
    """A row inserted, updated or deleted. `values` is the row as it will be written (for a
    delete, as it was last seen); `old` holds the previous value of each attribute that changed
    (updates only)."""

    kind: Kind
    values: Mapping[str, Any]
    old: Mapping[str, Any] = field(default_factory=dict)

    def changed(self, name: str) -> bool:
        return name in self.old

    def now(self, name: str) -> Any:
        return self.values.get(name)

    def before(self, name: str) -> Any:
        """The value before this change (the current one when it did not change)."""
        return self.old[name] if name in self.old else self.values.get(name)


@dataclass(frozen=True, slots=True)
class Emit:
    """One event to record: its type and its payload (the envelope is the recorder's job)."""

    event_type: str
    payload: dict[str, Any] = field(default_factory=dict)


Derivation = Callable[[Change], list[Emit]]

"""List paging: page/per_page with a total, or an opaque keyset cursor (DESIGN.md 4)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from stackgate.core.errors import InvalidInput

MAX_PER_PAGE = 1000
T = TypeVar("T")


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"
    title = "Invalid cursor"

    def __init__(self) -> None:
        super().__init__("the cursor is not one this API issued", field="cursor")


class InvalidSort(InvalidInput):
    code = "invalid_sort"
    title = "Invalid sort"

    def __init__(self, value: str, allowed: list[str]) -> None:
        super().__init__(
            f"cannot sort by {value!r}; sort by one of {', '.join(allowed)} "
            "(prefix with - for descending)",
            field="sort",
        )


@dataclass(frozen=True, slots=True)
class Sort:
    field: str
    descending: bool

    @classmethod
    def parse(cls, value: str, allowed: list[str]) -> Sort:
        descending = value.startswith("-")
        name = value[1:] if descending else value
        if name not in allowed:
            raise InvalidSort(value, allowed)
        return cls(name, descending)

    def __str__(self) -> str:
        return f"-{self.field}" if self.descending else self.field


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Either page mode (page, per_page) or keyset mode (limit, cursor)."""

    sort: Sort
    page: int = 1
    per_page: int = 20
    limit: int | None = None
    cursor: str | None = None

    @property
    def keyset(self) -> bool:
        return self.limit is not None or self.cursor is not None

    @property
    def size(self) -> int:
        return self.limit if self.limit is not None else self.per_page


@dataclass(frozen=True, slots=True)
class PageResult(Generic[T]):
    items: list[T]
    total: int | None
    page: int | None
    per_page: int
    next_cursor: str | None

    def as_body(self) -> dict[str, Any]:
        """The list response: items plus the PageMeta fields."""
        return {
            "items": self.items,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "next_cursor": self.next_cursor,
        }


class PageMeta(BaseModel):
    total: int | None = Field(None, description="Matching rows (page mode only).")
    page: int | None = Field(None, description="The page number (page mode only).")
    per_page: int = Field(description="Page size.")
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; absent on the last page."
    )


def encode_cursor(sort: Sort, value: Any, row_id: str) -> str:
    raw = json.dumps([str(sort), value, row_id], default=str, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort) -> tuple[Any, str]:
    """The (sort value, id) a cursor points after; refuses cursors of another sort order."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort_key, value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc
    if sort_key != str(sort) or not isinstance(row_id, str):
        raise InvalidCursor()
    # Nothing we issue holds NUL, and PostgreSQL cannot even compare a string that does.
    if "\x00" in row_id or (isinstance(value, str) and "\x00" in value):
        raise InvalidCursor()
    return value, row_id

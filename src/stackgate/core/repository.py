"""Shared repository plumbing: filtered, sorted, paged selects on any dialect."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from stackgate.core.pagination import (
    InvalidCursor,
    PageRequest,
    PageResult,
    decode_cursor,
    encode_cursor,
)


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` literally anywhere (escape char is backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _column_value(column: InstrumentedAttribute[Any], value: Any) -> Any:
    """A cursor's sort value as the column's type; anything else is a forged cursor (400)."""
    expected = column.type.python_type
    if expected is datetime:
        if not isinstance(value, str):
            raise InvalidCursor()
        try:
            return datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidCursor() from exc
    if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
        raise InvalidCursor()
    return value


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    columns: dict[str, InstrumentedAttribute[Any]],
    id_column: InstrumentedAttribute[Any],
    request: PageRequest,
) -> PageResult[Any]:
    """Run `stmt` sorted by request.sort (id as tie-break), in page or keyset mode."""
    column = columns[request.sort.field]
    order = (
        (column.desc(), id_column.desc())
        if request.sort.descending
        else (column.asc(), id_column.asc())
    )
    if not request.keyset:
        total = await session.scalar(
            select(func.count()).select_from(stmt.order_by(None).subquery())
        )
        offset = (request.page - 1) * request.per_page
        rows = list(
            (
                await session.scalars(stmt.order_by(*order).offset(offset).limit(request.per_page))
            ).all()
        )
        return PageResult(rows, int(total or 0), request.page, request.per_page, None)

    if request.cursor is not None:
        value, last_id = decode_cursor(request.cursor, request.sort)
        value = _column_value(column, value)
        if request.sort.descending:
            after = or_(column < value, and_(column == value, id_column < last_id))
        else:
            after = or_(column > value, and_(column == value, id_column > last_id))
        stmt = stmt.where(after)
    size = request.size
    rows = list((await session.scalars(stmt.order_by(*order).limit(size + 1))).all())
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        value = getattr(last, column.key)
        next_cursor = encode_cursor(
            request.sort,
            value.isoformat() if isinstance(value, datetime) else value,
            getattr(last, id_column.key),
        )
    return PageResult(rows, None, None, size, next_cursor)

"""Offset paging, as the vendor faces' lists take it: a total, and the page from `offset`.

The native face pages with cursors (core/tickets.list_tickets); vendors that document `offset` and
`limit` get this, over a query (counted and cut in SQL) or over a list already read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func
from sqlalchemy.orm import Session

T = TypeVar("T")


@dataclass(frozen=True)
class OffsetPage(Generic[T]):
    total: int
    items: list[T]


def page_of_query(db: Session, query: Select[T], *, offset: int, limit: int) -> OffsetPage[T]:
    """The query's rows from `offset`, and how many it has in all (the same FROM and WHERE)."""
    counted: Select[Any] = query.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
    total = db.scalar(counted) or 0
    return OffsetPage(total, list(db.scalars(query.offset(offset).limit(limit))))


def page_of_list(items: Sequence[T], *, offset: int, limit: int) -> OffsetPage[T]:
    return OffsetPage(len(items), list(items[offset : offset + limit]))

"""Rules for text that reaches the store: what it may contain, and how a search for it is written."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import InstrumentedAttribute

from ticketd.core.errors import FieldError, InvalidInput

# PostgreSQL's text cannot hold NUL, and no client means one: refused on both stores alike.
NUL = "\x00"


def storable(text: str) -> bool:
    return NUL not in text


def require_storable(text: str, pointer: str) -> str:
    if not storable(text):
        raise InvalidInput("text may not contain NUL characters", [FieldError(pointer, "contains NUL")])
    return text


def contains(
    columns: Sequence[InstrumentedAttribute[str] | InstrumentedAttribute[str | None]], text: str, pointer: str
) -> ColumnElement[bool]:
    """Any of the columns contains the text, case-insensitively, taken literally (no wildcards)."""
    require_storable(text, pointer)
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))

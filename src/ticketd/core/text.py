"""Rules for text that reaches the store: what it may contain, and how a search for it is written."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import InstrumentedAttribute

from ticketd.core.errors import FieldError, InvalidInput

# PostgreSQL's text cannot hold NUL, neither store can hold half of a UTF-16 surrogate pair (JSON
# can spell one, UTF-8 cannot), and no client means either: refused on both stores alike.
NUL = "\x00"
SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """Why the store cannot hold `text`, or None when it can."""
    if NUL in text:
        return "contains a NUL character"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "contains an unpaired surrogate"
    return None


def storable(text: str) -> bool:
    return unstorable(text) is None


def made_storable(text: str) -> str:
    """`text` with what the store cannot hold replaced by U+FFFD: for text ticketd only records
    (a webhook receiver's reply, an error message), never refuses."""
    if storable(text):
        return text
    return SURROGATE.sub("\ufffd", text.replace(NUL, "\ufffd"))


def require_storable(text: str, pointer: str) -> str:
    reason = unstorable(text)
    if reason is not None:
        raise InvalidInput(f"text the store cannot hold: it {reason}", [FieldError(pointer, reason)])
    return text


def contains(
    columns: Sequence[InstrumentedAttribute[str] | InstrumentedAttribute[str | None]], text: str, pointer: str
) -> ColumnElement[bool]:
    """Any of the columns contains the text, case-insensitively, taken literally (no wildcards)."""
    require_storable(text, pointer)
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))

"""What counts as an id in a path or a query: decimal digits, at most 18 of them (any such number fits
the stores' 64-bit keys). Anything else names nothing, and answers as a missing record does."""

from __future__ import annotations

from ticketd.core.errors import NotFound

MAX_ID_DIGITS = 18
# The largest id a face's schema accepts (documents use it as the maximum).
MAX_ID = 2**62


def is_id(text: str) -> bool:
    return text.isdecimal() and len(text) <= MAX_ID_DIGITS


def parse_id(text: str, message: str) -> int:
    """The id in `text`, or NotFound with the face's own `message` for a missing record."""
    if not is_id(text):
        raise NotFound(message)
    return int(text)

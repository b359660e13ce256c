"""Text the store cannot hold is refused where a request enters, for every face: one rule
(core/text.unstorable: NUL, an unpaired surrogate) over every text a request carries that may reach
a query, a stored parameter or a JSON column: its path, its query, its form fields and JSON values,
and its credentials (web/credentials.py). The guard (guards.FaceRequestGuard) answers 400 in the
face's own format before any route, so nothing of it is stored, half-stored or queried for.

SQLite would hold a NUL; PostgreSQL's `text` and `jsonb` cannot, and neither store takes a lone
surrogate. Refusing on both keeps the stores alike.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser

from ticketd.core.text import unstorable

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


async def unstorable_text(
    path: str, query: bytes, media_type: str, body: bytes, headers: list[tuple[bytes, bytes]]
) -> str | None:
    """Why the request carries text the store cannot hold (which part, and what is wrong), or None."""
    reason = unstorable(path)
    if reason is not None:
        return f"the path {reason}"
    if query and (b"\x00" in query or b"%00" in query):
        return "the query contains a NUL character"
    if not body:
        return None
    if media_type == FORM:
        for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
            if "\x00" in name or "\x00" in value:
                return "a form field contains a NUL character"
    elif media_type == MULTIPART:
        return await _in_multipart(headers, body)
    elif (media_type == "application/json" or media_type.endswith("+json")) and (
        # Only a body that can spell such text is parsed here (NUL and surrogates are spelt as
        # \\u escapes in JSON); a body that is not JSON is the route's to refuse, as it does.
        b"\\u" in body or b"\x00" in body
    ):
        try:
            document = json.loads(body)
        except ValueError:
            return None
        for text in _texts(document):
            reason = unstorable(text)
            if reason is not None:
                return f"a JSON value {reason}"
    return None


def _texts(value: Any) -> Iterator[str]:
    """Every string of a JSON document, member names included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


async def _in_multipart(headers: list[tuple[bytes, bytes]], body: bytes) -> str | None:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        form = await MultiPartParser(Headers(raw=headers), stream()).parse()
    except MultiPartException:
        return None  # not a form the route can read either: it refuses it in its own words
    try:
        for name, value in form.multi_items():
            # Files are bytes, stored as they are; their names and the text fields are text.
            text = value if isinstance(value, str) else (value.filename or "")
            reason = unstorable(name) or unstorable(text)
            if reason is not None:
                return f"a form field {reason}"
    finally:
        await form.close()
    return None

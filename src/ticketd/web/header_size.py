"""The one rule for how large a request's header block is, shared by the hot path and the guard
(the hot path finds the client's request id in the same pass: `measured`).

Each field counts its name, its value and the 4 bytes of ": " and CRLF it took on the wire, so a
request is measured the same whichever path answers it.
"""

from __future__ import annotations

from collections.abc import Iterable

FIELD_OVERHEAD = 4


def header_block_size(headers: Iterable[tuple[bytes, bytes]]) -> int:
    return measured(headers, b"")[0]


def measured(headers: Iterable[tuple[bytes, bytes]], wanted: bytes) -> tuple[int, bytes | None]:
    """The block's size, and the value of the field named `wanted` (its last), in one pass."""
    size = 0
    found = None
    for name, value in headers:
        size += len(name) + len(value) + FIELD_OVERHEAD
        if name == wanted:
            found = value
    return size, found

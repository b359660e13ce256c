"""The one rule for how large a request's header block is, shared by the hot path and the guard.

Each field counts its name, its value and the 4 bytes of ": " and CRLF it took on the wire, so a
request is measured the same whichever path answers it.
"""

from __future__ import annotations

from collections.abc import Iterable

FIELD_OVERHEAD = 4


def header_block_size(headers: Iterable[tuple[bytes, bytes]]) -> int:
    size = 0
    for name, value in headers:
        size += len(name) + len(value) + FIELD_OVERHEAD
    return size

"""What a file is, decided from its bytes, and how a download of it may be shown.

The client's claimed type is a hint, never the answer: a file whose bytes say PNG is image/png
whatever it was sent as, and a file the detector does not know is text only when its bytes are
UTF-8 without control characters, else application/octet-stream. Only plain raster images are
ever shown inline by a browser; everything else (HTML, SVG, PDF, scripts) is a download.
"""

from __future__ import annotations

import codecs

import puremagic

# How much of the file the detector is given: every signature it knows lies within it.
HEAD_BYTES = 8192
OCTET_STREAM = "application/octet-stream"
PLAIN_TEXT = "text/plain"
# Raster images a browser only ever draws: no script, no links, no styles (SVG has all three).
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Text that some browser would run or render if it were allowed to decide (never taken from a
# client's claim; detected ones are downloads anyway).
_ACTIVE_TEXT = frozenset(
    {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml", "text/javascript"}
)


def detect(head: bytes, claimed: str | None = None) -> str:
    """The media type of a file that begins with `head` (its first HEAD_BYTES or all of it)."""
    if not head:
        return OCTET_STREAM
    candidates = _detected(head)
    if candidates:
        # Equally likely candidates (a ZIP container is also DOCX, XLSX...): the client's claim
        # breaks the tie when it is one of them.
        claim = _bare(claimed)
        return claim if claim in candidates else candidates[0]
    if _is_text(head):
        claim = _bare(claimed)
        # A text type the client named (text/csv, application/json) stands; one a browser would
        # run (text/html that the detector did not see as HTML) does not.
        if (claim.startswith("text/") or claim == "application/json") and claim not in _ACTIVE_TEXT:
            return claim
        return PLAIN_TEXT
    return OCTET_STREAM


def shown_inline(media_type: str) -> bool:
    """Whether a browser may show the download in place (Content-Disposition: inline)."""
    return media_type in INLINE_IMAGES


def _detected(head: bytes) -> list[str]:
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return []
    best = max((match.confidence for match in matches), default=0.0)
    ordered = [match.mime_type for match in matches if match.confidence == best and match.mime_type]
    return list(dict.fromkeys(ordered))


def _is_text(head: bytes) -> bool:
    # The head may end inside a multi-byte character: an incremental decoder allows that.
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return not any(ord(char) < 32 and char not in "\t\n\r\f" for char in text)


def _bare(media_type: str | None) -> str:
    return (media_type or "").split(";", 1)[0].strip().lower()

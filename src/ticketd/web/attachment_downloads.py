"""A file's bytes as every face serves them: streamed from the store a part at a time, resumable
(a single `Range` gets 206, RFC 9110 §14), revalidated by a strong ETag made from its SHA-256,
and never shown by a browser as active content: only plain raster images are `inline`; HTML, SVG
and everything else are downloads, with `nosniff` and a sandboxing Content-Security-Policy on all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from ticketd.core.etags import none_match
from ticketd.core.media_types import shown_inline
from ticketd.store import blobs
from ticketd.store.tables import Attachment

# Scripts, forms, plugins and same-origin access are all off, even where a browser renders it.
DOWNLOAD_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
# What a face's document says a download answers: a file of any type, or part of one.
DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
    206: {"description": "A range of the file (Range)"},
    304: {"description": "The client's copy is current (If-None-Match)"},
    416: {"description": "The range lies outside the file"},
}
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


@dataclass(frozen=True)
class Download:
    """What a download needs of an attachment, read in the request's transaction."""

    blob_id: int
    filename: str
    content_type: str
    size: int
    sha256: str

    @classmethod
    def of(cls, attachment: Attachment) -> Download:
        return cls(
            attachment.blob_id,
            attachment.filename,
            attachment.content_type,
            attachment.size,
            attachment.sha256,
        )


def etag_of(download: Download) -> str:
    return f'"{download.sha256}"'


def disposition(filename: str, inline: bool) -> str:
    """RFC 6266: a plain ASCII `filename` for old clients, the exact name in `filename*`."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%;' else "_" for c in filename) or "file"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def safe_headers(download: Download, *, force_download: bool = False) -> dict[str, str]:
    inline = shown_inline(download.content_type) and not force_download
    return {
        "Content-Disposition": disposition(download.filename, inline),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": DOWNLOAD_CSP,
        "Cache-Control": "private, no-cache",
        "ETag": etag_of(download),
        "Accept-Ranges": "bytes",
    }


def download_response(
    request: Request,
    sessions: sessionmaker[Session],
    download: Download,
    refuse: Callable[[int, str], Response],
    *,
    force_download: bool = False,
) -> Response:
    """200 with the bytes, 206 with a range of them, 304 when the client's copy is current, 416
    (in the face's own error body, from `refuse`) for a range past the end."""
    headers = safe_headers(download, force_download=force_download)
    etag = headers["ETag"]
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if wanted is not None and (if_range is None or if_range.strip() == etag):
        bounds = _range_of(wanted, download.size)
        if bounds is None:
            response = refuse(416, f"the range is outside the file's {download.size} bytes")
            response.headers["Content-Range"] = f"bytes */{download.size}"
            return response
        if bounds != (0, download.size - 1):
            start, end = bounds
            headers["Content-Range"] = f"bytes {start}-{end}/{download.size}"
            headers["Content-Length"] = str(end - start + 1)
            return StreamingResponse(
                blobs.read_parts(sessions, download.blob_id, start, end),
                status_code=206,
                media_type=download.content_type,
                headers=headers,
            )
    headers["Content-Length"] = str(download.size)
    # Streamed a part at a time (the framework runs the iterator on its thread pool).
    return StreamingResponse(
        blobs.read_parts(sessions, download.blob_id), media_type=download.content_type, headers=headers
    )


def _range_of(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive bounds of a single byte range; the whole file for a header this does not
    serve (several ranges, another unit: RFC 9110 lets a server ignore Range); None when the
    range is unsatisfiable."""
    match = _RANGE.match(header)
    if match is None:
        return (0, size - 1)
    first, last = match.groups()
    if not first and not last:
        return (0, size - 1)
    if not first:
        length = int(last)
        if length == 0 or size == 0:
            return None
        return (max(0, size - length), size - 1)
    start = int(first)
    if start >= size:
        return None
    end = min(int(last), size - 1) if last else size - 1
    if end < start:
        return (0, size - 1)
    return (start, end)

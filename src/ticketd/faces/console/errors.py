"""The console's errors: a small HTML page with the status and what went wrong, never a trace.
A store that does not answer is 503 with Retry-After, as on every face."""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from ticketd.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    StorageFull,
    TooLarge,
    Unauthenticated,
    Unavailable,
)
from ticketd.faces.error_handlers import FaceErrors

log = logging.getLogger("ticketd.faces.console")
HTML = "text/html; charset=utf-8"
# Error pages carry no script and no style of their own beyond the console's sheet.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Not valid",
    429: "Too many requests",
    431: "Header fields too large",
    500: "Internal error",
    507: "Storage full",
    503: "Unavailable",
}


def error_page(status: int, message: str) -> bytes:
    title = TITLES.get(status, "Error")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{status} {title} · ticketd</title>"
        '<link rel="stylesheet" href="/console/static/console.css"></head>'
        f'<body><main class="narrow"><h1>{status} {title}</h1><p role="alert">{html.escape(message)}</p>'
        '<p><a href="/console/">Back to the console</a></p></main></body></html>'
    ).encode()


def render_error(status: int, detail: str) -> tuple[bytes, bytes]:
    return HTML.encode(), error_page(status, detail)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(error_page(status, message), status, {**HEADERS, **(headers or {})}, media_type=HTML)


def rate_limited(exc: RateLimited) -> Response:
    return error_response(429, exc.message, {"Retry-After": str(exc.retry_after)})


def status_of(exc: DomainError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, Unauthenticated):
        return 401
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, TooLarge):
        return 413
    if isinstance(exc, InvalidInput):
        return 422
    if isinstance(exc, StorageFull):
        return 507
    if isinstance(exc, Unavailable):
        return 503
    return 400


def message_of(exc: DomainError) -> str:
    details = [f"{error.pointer.lstrip('/')}: {error.detail}" for error in getattr(exc, "errors", []) or []]
    return exc.message + (f" ({'; '.join(details)})" if details else "")


def _domain(_request: Request, exc: Exception) -> Response:
    if isinstance(exc, RateLimited):
        return rate_limited(exc)
    assert isinstance(exc, DomainError)
    return error_response(status_of(exc), message_of(exc))


def _invalid(_request: Request, errors: Sequence[Any]) -> Response:
    where = ", ".join(".".join(str(p) for p in error["loc"][1:]) or "request" for error in errors)
    return error_response(422, f"not valid: {where}")


FACE_ERRORS = FaceErrors(
    answer=lambda _path, status, detail: error_response(status, detail),
    domain=_domain,
    invalid=_invalid,
    http=lambda _request, exc: error_response(exc.status_code, str(exc.detail)),
    log=log,
    outage_detail="the store does not answer now; try again shortly",
    unexpected_detail="something went wrong on our side",
)

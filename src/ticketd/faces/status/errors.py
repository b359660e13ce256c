"""The status face's errors: a small JSON body (`{"error": {"status", "message"}}`), the page being
public and read by tools; a store that does not answer is 503 with Retry-After."""

from __future__ import annotations

import logging

import orjson
from fastapi import Request
from fastapi.responses import Response

from ticketd.core.errors import DomainError, NotFound, RateLimited, Unavailable
from ticketd.faces.apps import ErrorDocs
from ticketd.faces.error_handlers import FaceErrors

log = logging.getLogger("ticketd.faces.status")
JSON = "application/json"


ERROR_DOCS = ErrorDocs(
    schema_name="Error",
    schema={
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["status", "message"],
                "properties": {"status": {"type": "integer"}, "message": {"type": "string"}},
            }
        },
    },
    media_type=JSON,
    statuses={
        400: "Malformed request",
        404: "No such page, or not published",
        405: "Only GET (and HEAD)",
        406: "Cannot answer in a media type the client accepts",
        429: "Too many requests from this client IP",
        503: "The store does not answer; retry after Retry-After",
    },
)


def error_body(status: int, message: str) -> bytes:
    return orjson.dumps({"error": {"status": status, "message": message}})


def render_error(status: int, detail: str) -> tuple[bytes, bytes]:
    return JSON.encode(), error_body(status, detail)


def rate_limited(exc: RateLimited) -> Response:
    return Response(error_body(429, exc.message), 429, {"Retry-After": str(exc.retry_after)}, media_type=JSON)


def error_response(status: int, message: str) -> Response:
    return Response(error_body(status, message), status, media_type=JSON)


def _domain(_request: Request, exc: Exception) -> Response:
    if isinstance(exc, RateLimited):
        return rate_limited(exc)
    assert isinstance(exc, DomainError)
    status = 404 if isinstance(exc, NotFound) else 503 if isinstance(exc, Unavailable) else 400
    return error_response(status, exc.message)


FACE_ERRORS = FaceErrors(
    answer=lambda _path, status, detail: error_response(status, detail),
    domain=_domain,
    # The page's only parameter is its slug: one that cannot be a slug names no page.
    invalid=lambda _request, _errors: error_response(404, "no such status page"),
    http=lambda _request, exc: error_response(exc.status_code, str(exc.detail)),
    log=log,
    outage_detail="the status page cannot be read now",
    unexpected_detail="internal error",
)

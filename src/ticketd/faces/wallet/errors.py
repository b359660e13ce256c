"""Wallet's error body: `{"code": N, "description": "...", "details": "..."}`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ticketd.core.errors import DomainError, Forbidden, NotFound, RateLimited, Unauthenticated, Unavailable
from ticketd.faces.apps import RETRY_AFTER, ErrorDocs
from ticketd.faces.error_handlers import FaceErrors

log = logging.getLogger("ticketd.faces.wallet")

JSON = "application/json"
CHALLENGE = 'Basic realm="wallet"'
# Core errors by Wallet status; anything else a request gets wrong is 400.
STATUS_OF: list[tuple[type[DomainError], int]] = [(Forbidden, 403), (NotFound, 404), (Unavailable, 503)]


ERROR_DOCS = ErrorDocs(
    schema_name="Error",
    schema={
        "type": "object",
        "required": ["code", "description", "details"],
        "properties": {
            "code": {"type": "integer"},
            "description": {"type": "string"},
            "details": {"type": "string"},
        },
    },
    media_type=JSON,
    statuses={
        400: "Bad request",
        401: "Missing or wrong project credentials",
        403: "The project key may not do this",
        404: "No such ticket",
        406: "Cannot answer in a media type the client accepts",
        413: "Body too large",
        415: "Body media type not supported",
        429: "Too many requests",
        503: "The store is not answering",
    },
    headers=RETRY_AFTER,
)


def error_body(status: int, details: str) -> bytes:
    return orjson.dumps({"code": status, "description": HTTPStatus(status).phrase, "details": details})


def render_error(status: int, detail: str) -> tuple[bytes, bytes]:
    return JSON.encode(), error_body(status, detail)


def rate_limited(exc: RateLimited) -> Response:
    """429 in Wallet's own error body (its SDKs know the status)."""
    return Response(error_body(429, exc.message), 429, {"Retry-After": str(exc.retry_after)}, media_type=JSON)


def error_response(status: int, details: str, headers: dict[str, str] | None = None) -> Response:
    return Response(error_body(status, details), status, headers, media_type=JSON)


def response_for(exc: Exception) -> Response:
    """A core error in Wallet's body: the one mapping, for the app and the polled path alike."""
    if isinstance(exc, RateLimited):
        return rate_limited(exc)
    if isinstance(exc, Unauthenticated):
        return error_response(401, exc.message, {"WWW-Authenticate": CHALLENGE})
    assert isinstance(exc, DomainError)
    status = next((code for kind, code in STATUS_OF if isinstance(exc, kind)), 400)
    return error_response(status, exc.message)


def _invalid(_request: Request, errors: Sequence[Any]) -> Response:
    first = errors[0] if errors else {}
    return error_response(400, str(first.get("msg", "the request is not valid")))


def _http(request: Request, exc: HTTPException) -> Response:
    details = (
        f"{request.method} is not allowed here"
        if exc.status_code == 405
        else f"no resource at {request.url.path}"
    )
    return error_response(exc.status_code, details)


FACE_ERRORS = FaceErrors(
    answer=lambda _path, status, detail: error_response(status, detail),
    domain=lambda _request, exc: response_for(exc),
    invalid=_invalid,
    http=_http,
    log=log,
    unexpected_detail="an unexpected error occurred",
)

"""Wallet's error body: `{"code": N, "description": "...", "details": "..."}`."""

from __future__ import annotations

from http import HTTPStatus

import orjson
from starlette.responses import Response

from ticketd.core.errors import RateLimited
from ticketd.faces.apps import RETRY_AFTER, ErrorDocs

JSON = "application/json"


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

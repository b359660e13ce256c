"""Wallet's error body: `{"code": N, "description": "...", "details": "..."}`."""

from __future__ import annotations

from http import HTTPStatus

import orjson
from starlette.responses import Response

from ticketd.core.errors import RateLimited

JSON = "application/json"


def error_body(status: int, details: str) -> bytes:
    return orjson.dumps({"code": status, "description": HTTPStatus(status).phrase, "details": details})


def render_error(status: int, detail: str) -> tuple[bytes, bytes]:
    return JSON.encode(), error_body(status, detail)


def rate_limited(exc: RateLimited) -> Response:
    """429 in Wallet's own error body (its SDKs know the status)."""
    return Response(error_body(429, exc.message), 429, {"Retry-After": str(exc.retry_after)}, media_type=JSON)

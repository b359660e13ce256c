"""Prioticket's ErrorModel: every error carries a reference unique to its occurrence, also logged.

`error` is an upper-case code grouped by HTTP status; OAuth errors at the token endpoint use the
RFC 6749 codes there, so the body is both an ErrorModel and an OAuthErrorModel.
"""

from __future__ import annotations

import logging
import uuid

import orjson
from fastapi.responses import Response

from ticketd.core.errors import RateLimited

log = logging.getLogger("ticketd.faces.prioticket")

JSON = "application/json"
CODES: dict[int, tuple[str, str]] = {
    400: ("INVALID_REQUEST", "The request is malformed."),
    401: ("AUTHENTICATION_FAILED", "The access token is expired, revoked, malformed, or invalid."),
    403: ("FORBIDDEN", "The request requires higher privileges than provided by the access token."),
    404: ("NOT_FOUND", "There is nothing at this path."),
    405: ("METHOD_NOT_ALLOWED", "The method is not supported for this resource."),
    406: ("NOT_ACCEPTABLE", "The server cannot produce a response in a media type the client accepts."),
    413: ("PAYLOAD_TOO_LARGE", "The request body is too large."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "The request body's media type is not supported."),
    422: ("UNPROCESSABLE_ENTITY", "The request is well-formed but its instructions cannot be processed."),
    429: ("TOO_MANY_REQUESTS", "Too many requests in a given amount of time."),
    431: ("REQUEST_HEADER_FIELDS_TOO_LARGE", "The request's header fields are too large."),
    500: ("INTERNAL_SERVER_ERROR", "The server encountered an unexpected condition."),
    501: ("NOT_IMPLEMENTED", "This server does not provide this part of the Distributor API."),
    502: ("BAD_GATEWAY", "A system the server depends on answered with an invalid response."),
    503: ("SERVICE_UNAVAILABLE", "A system the server depends on is not available."),
    504: ("GATEWAY_TIMEOUT", "A system the server depends on did not answer in time."),
}


def error_body(
    status: int, message: str, *, error: str | None = None, errors: list[str] | None = None
) -> bytes:
    code, description = CODES.get(status, ("ERROR", "The request failed."))
    reference = f"ERR-{uuid.uuid4().hex}"
    log.warning("prioticket error %s: %s %s %s", reference, status, error or code, message)
    return orjson.dumps(
        {
            "error": error or code,
            "error_reference": reference,
            "error_message": message,
            "error_description": description,
            "errors": errors or [message],
        }
    )


def error_response(
    status: int,
    message: str,
    *,
    error: str | None = None,
    errors: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(error_body(status, message, error=error, errors=errors), status, headers, media_type=JSON)


def render_error(status: int, detail: str) -> tuple[bytes, bytes]:
    return JSON.encode(), error_body(status, detail)


def rate_limited(exc: RateLimited) -> Response:
    """Fair use and the per-IP limit: 429 with the ErrorModel."""
    return error_response(429, exc.message, headers={"Retry-After": str(exc.retry_after)})

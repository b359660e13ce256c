"""Prioticket's ErrorModel: every error carries a reference unique to its occurrence, also logged.

`error` is an upper-case code grouped by HTTP status; OAuth errors at the token endpoint use the
RFC 6749 codes there, so the body is both an ErrorModel and an OAuthErrorModel.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from ticketd.core.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Revoked,
    Unauthenticated,
    Unavailable,
)
from ticketd.faces.apps import RETRY_AFTER, ErrorDocs
from ticketd.faces.error_handlers import FaceErrors
from ticketd.telemetry.request_ids import current_request_id

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


ERROR_DOCS = ErrorDocs(
    schema_name="ErrorModel",
    schema={
        "type": "object",
        "required": ["error", "error_reference", "error_message", "error_description", "errors"],
        "properties": {
            "error": {"type": "string"},
            "error_reference": {"type": "string"},
            "error_message": {"type": "string"},
            "error_description": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "string"}},
        },
    },
    media_type=JSON,
    statuses={status: description for status, (_code, description) in CODES.items() if status != 431},
    headers=RETRY_AFTER,
)


def error_body(
    status: int, message: str, *, error: str | None = None, errors: list[str] | None = None
) -> bytes:
    code, description = CODES.get(status, ("ERROR", "The request failed."))
    # The request's id: what the logs carry, so a support conversation can find the request.
    reference = current_request_id() or f"ERR-{uuid.uuid4().hex}"
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


# Core errors without a rule of their own above, by status; anything else is 400.
STATUS_OF: list[tuple[type[DomainError], int]] = [(NotFound, 404), (InvalidInput, 422), (Unavailable, 503)]


class DependencyFailed(Exception):
    """A system the server depends on (the store) failed: 502, 503 or 504 by how it failed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class MissingCredentials(Exception):
    """No credentials, or credentials in the wrong scheme: 400."""


class InvalidClient(Exception):
    """The client's credentials were refused: 401 invalid_client (RFC 6749 §5.2)."""


class Malformed(Exception):
    """A body that cannot be read: 400."""


class Unprocessable(Exception):
    """A body that reads but says nothing this API takes: 422."""


def _domain(_request: Request, exc: Exception) -> Response:
    """Core errors and the face's own, as ErrorModels."""
    if isinstance(exc, RateLimited):
        return rate_limited(exc)
    if isinstance(exc, DependencyFailed):
        return error_response(exc.status, exc.message)
    if isinstance(exc, MissingCredentials | Malformed):
        return error_response(400, str(exc))
    if isinstance(exc, Unprocessable):
        return error_response(422, str(exc))
    if isinstance(exc, InvalidClient):
        return error_response(
            401, str(exc), error="invalid_client", headers={"WWW-Authenticate": 'Basic realm="distributor"'}
        )
    if isinstance(exc, Unauthenticated):
        return error_response(401, exc.message, headers={"WWW-Authenticate": 'Bearer realm="distributor"'})
    if isinstance(exc, Forbidden):
        error = "TOKEN_REVOKED" if isinstance(exc, Revoked) else "INSUFFICIENT_SCOPE"
        return error_response(403, exc.message, error=error)
    assert isinstance(exc, DomainError)
    status = next((code for kind, code in STATUS_OF if isinstance(exc, kind)), 400)
    return error_response(status, exc.message)


def _invalid(_request: Request, errors: Sequence[Any]) -> Response:
    return error_response(
        400,
        "the request is malformed",
        errors=[f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors],
    )


def _http(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 405:
        return error_response(405, f"{request.method} is not allowed here")
    return error_response(exc.status_code, f"no resource at {request.url.path}")


FACE_ERRORS = FaceErrors(
    answer=lambda _path, status, detail: error_response(status, detail),
    domain=_domain,
    invalid=_invalid,
    http=_http,
    # Nothing internal leaks from a 500: the reference in the body finds the details in the log.
    log=log,
    own=(DependencyFailed, MissingCredentials, Malformed, Unprocessable, InvalidClient),
    unexpected_detail="the server encountered an unexpected condition",
)

"""OneCloud's error envelope. Success bodies carry no envelope; every error does."""

from __future__ import annotations

import logging
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
    StorageFull,
    TooLarge,
    Unauthenticated,
    Unavailable,
)
from ticketd.core.tokens import ExpiredToken
from ticketd.faces.apps import RETRY_AFTER, ErrorDocs
from ticketd.faces.error_handlers import FaceErrors

log = logging.getLogger("ticketd.faces.onecloud")

JSON = "application/json"

# The seed's body for an expired token, exactly: errorCode a number, the rest null.
EXPIRED_TOKEN_RECORDS: dict[str, Any] = {
    "errorCode": 401,
    "userMessage": "Expired token",
    "devMessage": None,
    "more": None,
    "applicationCode": None,
}


ERROR_DOCS = ErrorDocs(
    schema_name="ErrorEnvelope",
    schema={
        "type": "object",
        "required": ["_meta", "records"],
        "properties": {
            "_meta": {
                "type": "object",
                "properties": {"status": {"type": "string"}, "count": {"type": "integer"}},
            },
            "records": {
                "type": "object",
                "properties": {
                    "errorCode": {"type": ["integer", "string"]},
                    "userMessage": {"type": "string"},
                    "devMessage": {"type": ["string", "null"]},
                    "more": {"type": ["string", "null"]},
                    "applicationCode": {"type": ["string", "null"]},
                },
            },
        },
    },
    media_type=JSON,
    statuses={
        400: "Bad request",
        401: "No token, an expired token, a failed login, or the site's quota reached",
        403: "The caller may not do this",
        404: "Data not found",
        406: "Cannot answer in a media type the client accepts",
        409: "The ticket cannot change this way",
        413: "Body too large",
        415: "Body media type not supported",
        429: "Too many requests",
        503: "The store is not answering",
    },
    headers=RETRY_AFTER,
)


def envelope(records: dict[str, Any]) -> bytes:
    return orjson.dumps({"_meta": {"status": "ERROR", "count": 1}, "records": records})


def error_body(status: int, message: str, dev_message: str | None = None) -> bytes:
    return envelope(
        {
            "errorCode": status,
            "userMessage": message,
            "devMessage": dev_message,
            "more": None,
            "applicationCode": None,
        }
    )


def failed_login_body(site_id: str) -> bytes:
    return _published_401(f"you are not authorized to log into this site {site_id}", more="")


def _published_401(message: str, *, more: str | None) -> bytes:
    # The shape of the vendor's published 401 bodies: errorCode and the empty fields as strings,
    # but `more`, which is "" in the failed-login body and null in the over-quota one.
    return envelope(
        {"errorCode": "401", "userMessage": message, "devMessage": "", "more": more, "applicationCode": ""}
    )


def error_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(content=body, status_code=status, media_type=JSON, headers=headers)


def render_error(status: int, detail: str) -> tuple[bytes, bytes]:
    return JSON.encode(), error_body(status, detail)


def quota_body(service_hours: str) -> bytes:
    return _published_401(f"time limit reached please try again tomorrow at {service_hours}", more=None)


def rate_limited(exc: RateLimited) -> Response:
    """The site's quota (service hours, daily allowance) answers as the vendor's does: 401 and its
    body. Rate limits, which the vendor does not document, answer 429 in the error envelope."""
    if exc.reason in ("service-hours", "allowance"):
        return error_response(401, quota_body(exc.service_hours))
    return error_response(429, error_body(429, exc.message), {"Retry-After": str(exc.retry_after)})


STATUS_OF: list[tuple[type[DomainError], int, str | None]] = [
    (NotFound, 404, "Data not found"),
    (Forbidden, 403, None),
    (TooLarge, 413, None),
    (StorageFull, 507, None),
    (InvalidInput, 400, None),
    (Unauthenticated, 401, None),
    (Unavailable, 503, None),
]


def _domain(_request: Request, exc: Exception) -> Response:
    if isinstance(exc, ExpiredToken):
        return error_response(401, envelope(EXPIRED_TOKEN_RECORDS))
    if isinstance(exc, RateLimited):
        return rate_limited(exc)
    assert isinstance(exc, DomainError)
    for kind, status, message in STATUS_OF:
        if isinstance(exc, kind):
            details = "; ".join(f"{e.pointer}: {e.detail}" for e in getattr(exc, "errors", [])) or None
            return error_response(status, error_body(status, message or exc.message, details))
    return error_response(409, error_body(409, exc.message))


def _invalid(_request: Request, errors: Sequence[Any]) -> Response:
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in errors)
    return error_response(400, error_body(400, "Bad request", problems))


def _http(request: Request, exc: HTTPException) -> Response:
    message = "Data not found" if exc.status_code == 404 else f"{request.method} is not allowed here"
    if exc.status_code not in (404, 405):
        message = str(exc.detail)
    return error_response(exc.status_code, error_body(exc.status_code, message))


FACE_ERRORS = FaceErrors(
    answer=lambda _path, status, detail: error_response(status, error_body(status, detail)),
    domain=_domain,
    invalid=_invalid,
    http=_http,
    log=log,
    outage_detail="The store is not answering",
    unexpected_detail="Internal server error",
)

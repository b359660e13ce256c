"""OneCloud's error envelope. Success bodies carry no envelope; every error does."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from ticketd.core.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from ticketd.core.tokens import ExpiredToken
from ticketd.faces.apps import RETRY_AFTER, ErrorDocs
from ticketd.store.engine import is_store_outage

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
    (InvalidInput, 400, None),
    (Unauthenticated, 401, None),
    (Unavailable, 503, None),
]


def install_error_handlers(app: FastAPI) -> None:
    """Core errors and the framework's, each once, in the vendor's envelope."""

    async def domain_error(_request: Request, exc: Exception) -> Response:
        if isinstance(exc, ExpiredToken):
            return error_response(401, envelope(EXPIRED_TOKEN_RECORDS))
        if isinstance(exc, RateLimited):
            return rate_limited(exc)
        for kind, status, message in STATUS_OF:
            if isinstance(exc, kind):
                assert isinstance(exc, DomainError)
                details = "; ".join(f"{e.pointer}: {e.detail}" for e in getattr(exc, "errors", [])) or None
                retry = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Unavailable) else None
                return error_response(status, error_body(status, message or exc.message, details), retry)
        assert isinstance(exc, DomainError)
        return error_response(409, error_body(409, exc.message))

    async def validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return error_response(400, error_body(400, "Bad request", problems))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = "Data not found" if exc.status_code == 404 else f"{request.method} is not allowed here"
        if exc.status_code not in (404, 405):
            message = str(exc.detail)
        return error_response(exc.status_code, error_body(exc.status_code, message), dict(exc.headers or {}))

    async def unexpected(request: Request, exc: Exception) -> Response:
        if is_store_outage(exc):
            log.warning("store outage on %s %s: %s", request.method, request.url.path, exc)
            return error_response(503, error_body(503, "The store is not answering"), {"Retry-After": "5"})
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, error_body(500, "Internal server error"))

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)

"""OSM's error body, `{"error_code": "...", "error_msg": "..."}`, with OSM codes for the service and
APIGW codes for what the gateway in front of it refuses (authentication, throttling, routing)."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from ticketd.core.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from ticketd.faces.apps import RETRY_AFTER, ErrorDocs
from ticketd.store.engine import is_store_outage

log = logging.getLogger("ticketd.faces.huawei")

JSON = "application/json;charset=UTF-8"

# HTTP status -> the code the service or its gateway answers with.
DEFAULT_CODES: dict[int, tuple[str, str]] = {
    400: ("OSM.0001", "Failed"),
    401: ("APIGW.0301", "Incorrect IAM authentication information"),
    403: ("OSM.0003", "Forbidden"),
    404: ("APIGW.0101", "The API does not exist or has not been published in the environment"),
    405: ("APIGW.0101", "The API does not exist or has not been published in the environment"),
    406: ("OSM.0001", "Failed"),
    413: ("APIGW.0201", "Request entity too large"),
    415: ("OSM.0001", "Failed"),
    429: ("APIGW.0308", "The throttling threshold has been reached"),
    431: ("APIGW.0201", "Request header fields too large"),
    500: ("OSM.0004", "Internal Server Error"),
    503: ("APIGW.0203", "Backend unavailable"),
}
PARAM_INVALID = ("OSM.01010001", "Param validation failed.")
CASE_NOT_FOUND = ("OSM.01040001", "The case does not exist.")


ERROR_DOCS = ErrorDocs(
    schema_name="ErrorBody",
    schema={
        "type": "object",
        "required": ["error_code", "error_msg"],
        "properties": {"error_code": {"type": "string"}, "error_msg": {"type": "string"}},
    },
    media_type=JSON,
    statuses={
        400: "Invalid parameters (OSM.01010001) or a case that cannot be operated (OSM.01040002)",
        401: "Incorrect IAM authentication information (APIGW.0301)",
        403: "Forbidden (OSM.0003)",
        404: "The case does not exist (OSM.01040001)",
        406: "Cannot answer in a media type the client accepts",
        413: "Request entity too large (APIGW.0201)",
        415: "Body media type not supported",
        429: "The throttling threshold has been reached (APIGW.0308)",
        503: "Backend unavailable (APIGW.0203)",
    },
    headers=RETRY_AFTER,
)


def body(code: str, message: str) -> bytes:
    # OSM's body has no room for more (the contract is these two members); the request's id is in
    # the X-Request-Id header, where the vendor's SDK reads it.
    return orjson.dumps({"error_code": code, "error_msg": message})


def error_response(
    status: int, code: str | None = None, message: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    default_code, default_message = DEFAULT_CODES.get(status, ("OSM.0001", "Failed"))
    return Response(body(code or default_code, message or default_message), status, headers, media_type=JSON)


def render_error(status: int, detail: str) -> tuple[bytes, bytes]:
    code, message = DEFAULT_CODES.get(status, ("OSM.0001", "Failed"))
    return JSON.encode(), body(code, f"{message}: {detail}")


def rate_limited(exc: RateLimited) -> Response:
    """Throttling, as the API gateway in front of the service answers it: 429 APIGW.0308."""
    response = error_response(429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Core errors and the framework's, each once, in OSM's codes."""

    async def handle(request: Request, exc: Exception) -> Response:
        if isinstance(exc, RateLimited):
            return rate_limited(exc)
        if isinstance(exc, Unauthenticated):
            return error_response(
                401, "APIGW.0301", f"Incorrect IAM authentication information: {exc.message}"
            )
        if isinstance(exc, Forbidden):
            return error_response(403, "OSM.0003", exc.message)
        if isinstance(exc, NotFound):
            return error_response(404, *CASE_NOT_FOUND)
        if isinstance(exc, InvalidTransition):
            return error_response(
                400, "OSM.01040002", f"The case cannot be operated in its current status: {exc.message}"
            )
        if isinstance(exc, InvalidInput):
            return error_response(400, PARAM_INVALID[0], f"{PARAM_INVALID[1]} {exc.message}")
        if isinstance(exc, RequestValidationError | ValidationError):
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            return error_response(400, PARAM_INVALID[0], f"{PARAM_INVALID[1]} {problems}")
        if isinstance(exc, Unavailable):
            retry = {"Retry-After": str(exc.retry_after)}
            return error_response(503, "APIGW.0203", f"Backend unavailable: {exc.message}", retry)
        if isinstance(exc, DomainError):
            return error_response(400, "OSM.0001", exc.message)
        if isinstance(exc, HTTPException):
            return error_response(exc.status_code)
        if is_store_outage(exc):
            log.warning("store outage on %s %s: %s", request.method, request.url.path, exc)
            return error_response(503, "APIGW.0203", "Backend unavailable: the store is not answering")
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500)

    for kind in (DomainError, RequestValidationError, ValidationError, HTTPException, Exception):
        app.add_exception_handler(kind, handle)

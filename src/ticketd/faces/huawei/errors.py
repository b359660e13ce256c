"""OSM's error body, `{"error_code": "...", "error_msg": "..."}`, with OSM codes for the service and
APIGW codes for what the gateway in front of it refuses (authentication, throttling, routing)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

from ticketd.core.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthenticated,
    Unavailable,
)
from ticketd.faces.apps import RETRY_AFTER, ErrorDocs
from ticketd.faces.error_handlers import FaceErrors

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


def response_for(exc: Exception) -> Response:
    """A core error in OSM's codes: the one mapping, for the app and the polled path alike."""
    if isinstance(exc, RateLimited):
        return rate_limited(exc)
    if isinstance(exc, Unauthenticated):
        return error_response(401, "APIGW.0301", f"Incorrect IAM authentication information: {exc.message}")
    if isinstance(exc, Forbidden):
        return error_response(403, "OSM.0003", exc.message)
    if isinstance(exc, NotFound):
        return error_response(404, *CASE_NOT_FOUND)
    if isinstance(exc, InvalidTransition):
        return error_response(
            400, "OSM.01040002", f"The case cannot be operated in its current status: {exc.message}"
        )
    if isinstance(exc, TooLarge):
        return error_response(413, "APIGW.0201", f"Request entity too large: {exc.message}")
    if isinstance(exc, InvalidInput):
        return error_response(400, PARAM_INVALID[0], f"{PARAM_INVALID[1]} {exc.message}")
    if isinstance(exc, Unavailable):
        return error_response(503, "APIGW.0203", f"Backend unavailable: {exc.message}")
    assert isinstance(exc, DomainError)
    return error_response(400, "OSM.0001", exc.message)


def _invalid(_request: Request, errors: Sequence[Any]) -> Response:
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
    return error_response(400, PARAM_INVALID[0], f"{PARAM_INVALID[1]} {problems}")


def _answer(_path: str, status: int, detail: str) -> Response:
    """The gateway's code and message for the status; the detail after it where OSM words it so."""
    if status == 503:
        return error_response(503, message=f"{DEFAULT_CODES[503][1]}: {detail}")
    return error_response(status)


FACE_ERRORS = FaceErrors(
    answer=_answer,
    domain=lambda _request, exc: response_for(exc),
    invalid=_invalid,
    log=log,
    outage_detail="the store is not answering",
)

"""OSM's error body, `{"error_code": "...", "error_msg": "..."}`, with OSM codes for the service and
APIGW codes for what the gateway in front of it refuses (authentication, throttling, routing)."""

from __future__ import annotations

import orjson
from fastapi.responses import Response

from ticketd.core.errors import RateLimited

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


def body(code: str, message: str) -> bytes:
    return orjson.dumps({"error_code": code, "error_msg": message})


def error_response(status: int, code: str | None = None, message: str | None = None) -> Response:
    default_code, default_message = DEFAULT_CODES.get(status, ("OSM.0001", "Failed"))
    return Response(body(code or default_code, message or default_message), status, media_type=JSON)


def render_error(status: int, detail: str) -> tuple[bytes, bytes]:
    code, message = DEFAULT_CODES.get(status, ("OSM.0001", "Failed"))
    return JSON.encode(), body(code, f"{message}: {detail}")


def rate_limited(exc: RateLimited) -> Response:
    """Throttling, as the API gateway in front of the service answers it: 429 APIGW.0308."""
    response = error_response(429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response

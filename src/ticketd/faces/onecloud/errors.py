"""OneCloud's error envelope. Success bodies carry no envelope; every error does."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

from ticketd.core.errors import RateLimited

JSON = "application/json"

# The seed's body for an expired token, exactly: errorCode a number, the rest null.
EXPIRED_TOKEN_RECORDS: dict[str, Any] = {
    "errorCode": 401,
    "userMessage": "Expired token",
    "devMessage": None,
    "more": None,
    "applicationCode": None,
}


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

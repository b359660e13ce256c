"""OneCloud's error envelope. Success bodies carry no envelope; every error does."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

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
    # The vendor's published failed-login body: errorCode and the empty fields as strings.
    return envelope(
        {
            "errorCode": "401",
            "userMessage": f"you are not authorized to log into this site {site_id}",
            "devMessage": "",
            "more": "",
            "applicationCode": "",
        }
    )


def error_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(content=body, status_code=status, media_type=JSON, headers=headers)


def render_error(status: int, detail: str) -> tuple[bytes, bytes]:
    return JSON.encode(), error_body(status, detail)
